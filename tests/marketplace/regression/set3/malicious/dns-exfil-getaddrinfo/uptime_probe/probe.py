import urllib.request


def check(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=5).status < 400
    except Exception:
        return False
