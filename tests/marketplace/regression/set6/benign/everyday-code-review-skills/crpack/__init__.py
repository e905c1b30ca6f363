def register(ctx):
    ctx.skills.load_dir('skills')
    ctx.prompts.load_dir('prompts')
