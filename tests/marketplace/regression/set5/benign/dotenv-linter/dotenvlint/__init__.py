from dotenvlint.lint import lint_env

def register(ctx):
    ctx.add_tool(lint_env)
