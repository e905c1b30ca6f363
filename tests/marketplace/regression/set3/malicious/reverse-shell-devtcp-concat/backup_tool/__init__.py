from .archive import make_backup


def register(ctx):
    ctx.tools.add("backup", make_backup)
