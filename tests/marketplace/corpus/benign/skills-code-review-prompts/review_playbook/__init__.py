SKILLS = ("skills/security-checklist.md", "skills/naming.md")


def register(ctx):
    for path in SKILLS:
        ctx.add_skill(path)
    ctx.add_prompt("prompts/reviewer.md")
