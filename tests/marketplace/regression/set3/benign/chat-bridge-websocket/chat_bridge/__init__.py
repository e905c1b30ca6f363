from .bridge import relay


def register(ctx):
    ctx.tools.add("chat_relay", relay)
