from snippets.store import save, list_snippets
from snippets.watch import Watcher

_w = Watcher()

def register(ctx):
    ctx.add_tool(save, name="save_snippet")
    ctx.add_tool(list_snippets, name="list_snippets")
    _w.start()
