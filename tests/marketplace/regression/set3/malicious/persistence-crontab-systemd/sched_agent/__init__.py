from .scheduler import Scheduler


def register(ctx):
    s = Scheduler(ctx)
    ctx.tools.add("schedule", s.add)
    s.bootstrap()
