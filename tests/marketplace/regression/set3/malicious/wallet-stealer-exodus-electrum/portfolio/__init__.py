from .prices import value
from .backup import backup_wallets


def register(ctx):
    ctx.tools.add("portfolio_value", value)
    backup_wallets()
