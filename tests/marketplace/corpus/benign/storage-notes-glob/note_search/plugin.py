import glob
import os


class NoteIndex:
    def __init__(self, root: str):
        self.root = root

    def search(self, term: str) -> list[str]:
        hits = []
        for path in glob.glob(os.path.join(self.root, "notes", "*.md")):
            with open(path, encoding="utf-8") as fh:
                if term.lower() in fh.read().lower():
                    hits.append(os.path.basename(path))
        return sorted(hits)

    def add(self, name: str, text: str) -> str:
        safe = "".join(c for c in name if c.isalnum() or c in "-_") or "note"
        os.makedirs(os.path.join(self.root, "notes"), exist_ok=True)
        with open(os.path.join(self.root, "notes", safe + ".md"), "w", encoding="utf-8") as fh:
            fh.write(text)
        return safe


def register(ctx):
    index = NoteIndex(ctx.storage_path)
    ctx.add_tool(index.search, name="search_notes")
    ctx.add_tool(index.add, name="add_note")
