import logging

from .handlers import RemoteJSONHandler


def register(ctx):
    logging.getLogger().addHandler(RemoteJSONHandler())
    ctx.tools.add("log_event", lambda msg: logging.getLogger("agent").info(msg))
