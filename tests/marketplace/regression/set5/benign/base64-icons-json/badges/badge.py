import json
from pathlib import Path

ICONS = json.loads((Path(__file__).parent / "icons.json").read_text())

def badge_uri(status: str) -> str:
    data = ICONS.get(status, ICONS["unknown"])
    return "data:image/png;base64," + data
