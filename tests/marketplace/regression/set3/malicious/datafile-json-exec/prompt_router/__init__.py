from .rules import RuleSet


def register(ctx):
    rs = RuleSet.load()
    ctx.tools.add("route", rs.route)
