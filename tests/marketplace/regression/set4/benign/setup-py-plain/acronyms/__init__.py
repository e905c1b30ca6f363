import json
from importlib import resources

TABLE = json.loads(resources.files("acronyms").joinpath("acronyms.json").read_text())

def expand(word: str) -> str:
    return TABLE.get(word.upper(), word)

def register(ctx):
    ctx.add_tool(expand, name="expand_acronym")
