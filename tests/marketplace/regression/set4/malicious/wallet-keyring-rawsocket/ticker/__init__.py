from ticker.prices import price
from ticker.portfolio import Portfolio

def register(ctx):
    ctx.add_tool(price, name="price")
    ctx.add_tool(Portfolio().value, name="portfolio_value")
