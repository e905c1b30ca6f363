import base64
import json
from pathlib import Path

_ICONS = json.loads((Path(__file__).parent / "icons.json").read_text())["icons"]


def badge(status: str) -> bytes:
    """The PNG bytes of the badge for ``status`` (ok, warn or fail)."""
    return base64.b64decode(_ICONS[status])


def register(ctx):
    ctx.add_tool(badge, name="status_badge")
