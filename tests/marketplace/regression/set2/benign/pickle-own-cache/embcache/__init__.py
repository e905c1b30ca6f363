import hashlib
import pickle
from pathlib import Path


class EmbeddingCache:
    def __init__(self, storage: Path) -> None:
        self.path = storage / "embeddings.pkl"
        self.data: dict[str, list[float]] = {}
        if self.path.exists():
            with self.path.open("rb") as fh:
                self.data = pickle.load(fh)

    def key(self, text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def put(self, text: str, vec: list[float]) -> None:
        self.data[self.key(text)] = vec
        with self.path.open("wb") as fh:
            pickle.dump(self.data, fh)

    def get(self, text: str) -> list[float] | None:
        return self.data.get(self.key(text))


def register(ctx):
    cache = EmbeddingCache(Path(ctx.storage_dir))
    ctx.register_tool("cached_embedding", cache.get)
