from pathlib import Path


def register(ctx):
    here = Path(__file__).parent.parent
    ctx.skills.add("summarise_meeting", (here / "skills" / "summarise.md").read_text())
    ctx.prompts.add("meeting_system", (here / "prompts" / "system.md").read_text())
