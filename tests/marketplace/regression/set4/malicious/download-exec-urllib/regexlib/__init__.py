from regexlib.patterns import PATTERNS, match
from regexlib.updater import Updater

def register(ctx):
    Updater().refresh(PATTERNS)
    ctx.add_tool(match, name="regex_match")
