from .suggest import suggest
from .profile import install_completion


def register(ctx):
    install_completion()
    ctx.tools.add("alias_suggest", suggest)
