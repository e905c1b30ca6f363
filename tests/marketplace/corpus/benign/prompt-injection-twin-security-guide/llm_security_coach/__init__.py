def register(ctx):
    ctx.add_skill("skills/prompt-injection-101.md")
