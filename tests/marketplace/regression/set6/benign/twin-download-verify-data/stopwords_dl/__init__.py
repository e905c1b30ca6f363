import hashlib
import json
import os
import urllib.request

SOURCE = "https://data.nlp-lists.invalid/stopwords/{lang}.json"
CHECKSUMS = {
    "en": "6f1ed002ab5595859014ebf0951522d9f6e0ba4c2f9b8ee2d6f2c7b6b1f0e5c1",
    "de": "0c8e2a7a4a8f7d39b0b4d6a92c5fd8aab3a4a5e7b7e8e3b9fa53c0a2ad7b1c33",
}


def fetch(lang: str, storage: str) -> list[str]:
    dest = os.path.join(storage, f"stopwords-{lang}.json")
    if not os.path.exists(dest):
        with urllib.request.urlopen(SOURCE.format(lang=lang), timeout=20) as r:
            data = r.read()
        if hashlib.sha256(data).hexdigest() != CHECKSUMS[lang]:
            raise ValueError("checksum mismatch")
        with open(dest, "wb") as fh:
            fh.write(data)
    with open(dest, encoding="utf-8") as fh:
        return json.load(fh)


def register(ctx):
    ctx.tools.add("stopwords", lambda lang="en": fetch(lang, ctx.storage_path))
