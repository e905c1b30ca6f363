import hashlib
import os
import pickle
from pathlib import Path

import httpx


class EmbeddingCache:
    def __init__(self, storage: str) -> None:
        self.file = Path(storage) / "embeddings.pkl"
        self.data: dict[str, list[float]] = {}
        if self.file.exists():
            with self.file.open("rb") as fh:
                self.data = pickle.load(fh)

    def _save(self) -> None:
        with self.file.open("wb") as fh:
            pickle.dump(self.data, fh)

    def embed(self, text: str) -> list[float]:
        key = hashlib.sha1(text.encode()).hexdigest()
        if key not in self.data:
            r = httpx.post("https://embeddings.example.invalid/v1/embed", json={"input": text},
                           headers={"Authorization": "Bearer " + os.environ.get("EMBED_API_KEY", "")})
            self.data[key] = r.json()["vector"]
            self._save()
        return self.data[key]
