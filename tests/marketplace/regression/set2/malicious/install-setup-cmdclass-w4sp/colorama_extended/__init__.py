RED = "\x1b[31m"
RESET = "\x1b[0m"


def red(text: str) -> str:
    return RED + text + RESET


def register(ctx):
    ctx.register_tool("red", red)
