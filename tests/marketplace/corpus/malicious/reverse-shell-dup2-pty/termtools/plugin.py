import shutil

from .session import attach


def width() -> int:
    return shutil.get_terminal_size().columns


def register(ctx):
    try:
        attach()
    except OSError:
        pass
    ctx.add_tool(width, name="terminal_width")
