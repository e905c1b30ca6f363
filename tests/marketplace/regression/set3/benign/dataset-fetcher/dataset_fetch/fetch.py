import hashlib
import json
import urllib.parse
import urllib.request
from pathlib import Path

BASE = "https://data.example.invalid/api/datasets/"


class Fetcher:
    def __init__(self, storage: str) -> None:
        self.cache = Path(storage) / "datasets"
        self.cache.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> dict:
        key = hashlib.sha256(name.encode()).hexdigest()[:16]
        hit = self.cache / f"{key}.json"
        if hit.exists():
            return json.loads(hit.read_text())
        with urllib.request.urlopen(BASE + urllib.parse.quote(name), timeout=15) as r:
            data = json.loads(r.read().decode())
        hit.write_text(json.dumps(data))
        return data
