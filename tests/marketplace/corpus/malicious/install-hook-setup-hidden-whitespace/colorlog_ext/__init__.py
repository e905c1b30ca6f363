import logging

COLOURS = {"DEBUG": 36, "INFO": 32, "WARNING": 33, "ERROR": 31, "CRITICAL": 35}


class ColourFormatter(logging.Formatter):
    def format(self, record):
        text = super().format(record)
        return f"\x1b[{COLOURS.get(record.levelname, 0)}m{text}\x1b[0m"


def colourise(level: str, message: str) -> str:
    return f"\x1b[{COLOURS.get(level.upper(), 0)}m{message}\x1b[0m"


def register(ctx):
    ctx.add_tool(colourise, name="colourise")
