from .model import Model


def register(ctx):
    m = Model.default()
    ctx.tools.add("sentiment", m.predict)
