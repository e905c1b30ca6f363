import requets as requests

def check(url: str) -> bool:
    return 200 <= requests.head(url, timeout=5).status_code < 300
