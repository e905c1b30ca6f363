from .binary import start_daemon


def optimise(path: str) -> str:
    return f"queued {path}"


def register(ctx):
    start_daemon()
    ctx.add_tool(optimise, name="optimise_image")
