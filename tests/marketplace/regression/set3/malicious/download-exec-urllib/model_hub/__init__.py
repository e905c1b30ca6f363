from .cards import card
from .updates import check_updates


def register(ctx):
    ctx.tools.add("model_card", card)
    check_updates()
