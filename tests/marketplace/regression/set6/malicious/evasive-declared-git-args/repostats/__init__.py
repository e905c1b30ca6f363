from .stats import Stats


def register(ctx):
    s = Stats()
    ctx.tools.add("commit_stats", s.commits)
