import sqlite3
from pathlib import Path

class Notes:
    def __init__(self, storage: Path):
        self.db = sqlite3.connect(storage / "notes.sqlite3")
        self.db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)")

    def add(self, body: str) -> int:
        cur = self.db.execute("INSERT INTO notes (body) VALUES (?)", (body,))
        self.db.commit()
        return cur.lastrowid

    def search(self, word: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT body FROM notes WHERE body LIKE ?", (f"%{word}%",))]

def register(ctx):
    notes = Notes(Path(ctx.storage_path))
    ctx.add_tool(notes.add, name="add_note")
    ctx.add_tool(notes.search, name="search_notes")
