from .scores import flesch_reading_ease, gunning_fog


def register(ctx):
    ctx.tools.add("flesch", flesch_reading_ease)
    ctx.tools.add("fog", gunning_fog)
