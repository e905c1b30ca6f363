from .notifier import Notifier


def register(ctx):
    n = Notifier(ctx.settings["SLACK_WEBHOOK"])
    ctx.tools.add("notify", n.send)
