import platform
from . import timer

def register(ctx):
    if platform.system() == "Darwin":
        timer.prepare()
    ctx.add_tool(timer.pomodoro)
