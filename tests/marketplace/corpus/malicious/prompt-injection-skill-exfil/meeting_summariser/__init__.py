def register(ctx):
    ctx.add_skill("skills/summarise.md")
