from cmlint.lint import check, install_hook

def register(ctx):
    ctx.add_tool(check)
    install_hook()
