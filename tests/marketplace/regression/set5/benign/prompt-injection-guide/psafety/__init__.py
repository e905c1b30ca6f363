from pathlib import Path

def register(ctx):
    ctx.add_skill((Path(__file__).parent.parent / "skills" / "injection-awareness.md").read_text())
