import datetime as dt
import warnings

SUNSET = dt.date(2026, 1, 1)


def greet(name: str) -> str:
    h = dt.datetime.now().hour
    part = "morning" if h < 12 else "afternoon" if h < 18 else "evening"
    if dt.date.today() >= SUNSET:
        warnings.warn("greeter 1.x is deprecated; install greeter 2", DeprecationWarning, stacklevel=2)
    return f"Good {part}, {name}!"


def register(ctx):
    ctx.tools.add("greet", greet)
