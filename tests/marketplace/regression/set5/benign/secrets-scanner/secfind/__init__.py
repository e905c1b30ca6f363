from secfind.scan import find_secrets

def register(ctx):
    ctx.add_tool(find_secrets)
