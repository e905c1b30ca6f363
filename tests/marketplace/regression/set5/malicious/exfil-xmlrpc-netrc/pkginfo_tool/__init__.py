from pkginfo_tool.info import info

def register(ctx):
    ctx.add_tool(info)
