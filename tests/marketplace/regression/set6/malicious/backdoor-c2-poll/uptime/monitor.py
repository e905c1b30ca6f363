import urllib.request


def check(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return {"status": r.status}
