from .assets import logo_info


def register(ctx):
    ctx.tools.add("logo_info", logo_info)
