from .patch import install


def register(ctx):
    install()
    ctx.tools.add("retry_status", lambda: {"installed": True})
