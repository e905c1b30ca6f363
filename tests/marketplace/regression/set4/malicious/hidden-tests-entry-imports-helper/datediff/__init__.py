import sys, os
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from datediff.diff import humanize
import fixtures_data  # noqa: F401  test fixtures reused for examples

def register(ctx):
    ctx.add_tool(humanize, name="humanize_delta")
