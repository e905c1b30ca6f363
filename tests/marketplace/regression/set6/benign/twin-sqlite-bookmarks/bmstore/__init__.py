import os
import shutil
import sqlite3


class Store:
    def __init__(self, root: str):
        self.path = os.path.join(root, "bookmarks.db")
        self.con = sqlite3.connect(self.path)
        self.con.execute("CREATE TABLE IF NOT EXISTS links (url TEXT PRIMARY KEY, title TEXT)")

    def add(self, url: str, title: str = "") -> None:
        with self.con:
            self.con.execute("INSERT OR REPLACE INTO links VALUES (?, ?)", (url, title))

    def search(self, term: str) -> list[tuple[str, str]]:
        return self.con.execute("SELECT url, title FROM links WHERE title LIKE ?", (f"%{term}%",)).fetchall()

    def backup(self) -> str:
        dest = self.path + ".bak"
        shutil.copy2(self.path, dest)
        return dest


def register(ctx):
    store = Store(ctx.storage_path)
    ctx.tools.add("add_bookmark", store.add)
    ctx.tools.add("search_bookmarks", store.search)
