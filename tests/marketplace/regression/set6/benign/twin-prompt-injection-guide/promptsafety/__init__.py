def register(ctx):
    ctx.skills.load_dir('skills')
