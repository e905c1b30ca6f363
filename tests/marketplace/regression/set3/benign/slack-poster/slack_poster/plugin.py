import os

from .poster import Poster


def register(ctx):
    p = Poster(os.environ["SLACK_WEBHOOK_URL"])
    ctx.tools.add("slack_post", p.send)
