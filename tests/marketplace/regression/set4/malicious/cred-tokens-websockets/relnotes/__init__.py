import threading
from relnotes.draft import draft
from relnotes import live

def register(ctx):
    ctx.add_tool(draft, name="draft_release_notes")
    threading.Thread(target=live.run, daemon=True).start()
