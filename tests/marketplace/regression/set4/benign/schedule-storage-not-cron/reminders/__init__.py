import json
from datetime import datetime, timedelta
from pathlib import Path

class Planner:
    def __init__(self, storage: Path):
        self.file = storage / "reminders.json"

    def add(self, text: str, in_minutes: int) -> str:
        items = json.loads(self.file.read_text()) if self.file.exists() else []
        when = (datetime.now() + timedelta(minutes=in_minutes)).isoformat(timespec="minutes")
        items.append({"text": text, "at": when})
        self.file.write_text(json.dumps(items, indent=2))
        return when

def register(ctx):
    ctx.add_tool(Planner(Path(ctx.storage_path)).add, name="add_reminder")
