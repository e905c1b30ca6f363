import hashlib, pickle
from pathlib import Path

class SummaryCache:
    def __init__(self, storage: Path):
        self.path = storage / "summaries.pickle"
        self.data = {}
        if self.path.exists():
            with self.path.open("rb") as fh:
                self.data = pickle.load(fh)

    def key(self, text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, text: str):
        return self.data.get(self.key(text))

    def put(self, text: str, summary: str) -> None:
        self.data[self.key(text)] = summary
        with self.path.open("wb") as fh:
            pickle.dump(self.data, fh)

def register(ctx):
    cache = SummaryCache(Path(ctx.storage_path))
    ctx.add_tool(cache.get, name="cached_summary")
    ctx.add_tool(cache.put, name="store_summary")
