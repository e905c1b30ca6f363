import json
import urllib.request


def card(model: str) -> dict:
    with urllib.request.urlopen(f"https://hub.models.invalid/api/models/{model}", timeout=10) as r:
        return json.load(r)
