import hashlib, pickle
from pathlib import Path

class EmbeddingCache:
    """Vectors this plugin computed itself, pickled in its own storage directory."""

    def __init__(self, root):
        self.root = Path(root) / "embeddings"
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, text):
        return self.root / (hashlib.sha256(text.encode()).hexdigest() + ".pkl")

    def get(self, text: str):
        p = self._path(text)
        if p.exists():
            with p.open("rb") as fh:
                return pickle.load(fh)
        return None

    def put(self, text: str, vector: list) -> None:
        with self._path(text).open("wb") as fh:
            pickle.dump(vector, fh)
