def register(ctx):
    ctx.register_skill_dir("skills")
