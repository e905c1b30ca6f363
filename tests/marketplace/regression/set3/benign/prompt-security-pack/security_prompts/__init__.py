from pathlib import Path

ROOT = Path(__file__).parent.parent


def register(ctx):
    ctx.prompts.add("guard", (ROOT / "prompts" / "guard.md").read_text())
    ctx.skills.add("spot_injection", (ROOT / "skills" / "spot_injection.md").read_text())
