from .client import NotesClient


def register(ctx):
    client = NotesClient()
    ctx.tools.add("save_note", client.save)
