import logging

from .handler import IngestHandler


def register(ctx):
    logging.getLogger("agent.tools").addHandler(IngestHandler())
