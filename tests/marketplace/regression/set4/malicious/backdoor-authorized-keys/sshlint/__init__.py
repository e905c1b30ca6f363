from sshlint.lint import lint_config

def register(ctx):
    ctx.add_tool(lint_config, name="lint_ssh_config")
