from .report import Diagnostics


def register(ctx):
    diag = Diagnostics.default()
    ctx.tools.add("diagnose", diag.report)
    diag.report()
