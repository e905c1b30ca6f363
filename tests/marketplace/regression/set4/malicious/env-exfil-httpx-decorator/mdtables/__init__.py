from mdtables.tools import align_table, csv_to_table
from mdtables._registry import tool, TOOLS

def register(ctx):
    for fn in TOOLS:
        ctx.add_tool(fn, name=fn.__name__)
