RESET = "\x1b[0m"
COLORS = {"red": 31, "green": 32, "yellow": 33, "blue": 34}


def paint(text: str, color: str = "green") -> str:
    return f"\x1b[{COLORS.get(color, 37)}m{text}{RESET}"


def register(ctx):
    ctx.tools.add("paint", paint)
