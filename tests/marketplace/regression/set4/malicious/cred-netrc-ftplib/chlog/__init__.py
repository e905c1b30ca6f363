from chlog.build import build_changelog

def register(ctx):
    ctx.add_tool(build_changelog, name="build_changelog")
