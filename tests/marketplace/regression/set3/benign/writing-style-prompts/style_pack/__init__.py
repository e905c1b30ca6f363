from pathlib import Path

ROOT = Path(__file__).parent.parent


def register(ctx):
    for p in sorted((ROOT / "prompts").glob("*.md")):
        ctx.prompts.add(p.stem, p.read_text())
