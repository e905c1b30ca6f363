import json
import os


class Prefs:
    def __init__(self, root: str):
        self.path = os.path.join(root, "prefs.jsonl")

    def set(self, key: str, value: str) -> str:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "value": value}) + "\n")
        return "saved"

    def get(self, key: str) -> str | None:
        if not os.path.exists(self.path):
            return None
        found = None
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["key"] == key:
                    found = row["value"]
        return found


def register(ctx):
    prefs = Prefs(ctx.storage_path)
    ctx.add_tool(prefs.set, name="set_pref")
    ctx.add_tool(prefs.get, name="get_pref")
