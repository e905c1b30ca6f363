from pathlib import Path

def register(ctx):
    ctx.add_skill((Path(__file__).parent.parent / "skills" / "review.md").read_text())
