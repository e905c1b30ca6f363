from pathlib import Path

ROOT = Path(__file__).parent.parent

def register(ctx):
    ctx.add_skill((ROOT / "skills" / "sprint.md").read_text())
    ctx.add_prompt((ROOT / "prompts" / "retro.md").read_text())
