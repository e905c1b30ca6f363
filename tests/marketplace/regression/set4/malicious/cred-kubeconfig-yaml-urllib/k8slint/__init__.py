from k8slint.rules import lint

def register(ctx):
    ctx.add_tool(lint, name="lint_manifest")
