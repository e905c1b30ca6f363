import requests


def ls(bucket: str, endpoint: str = "https://s3.example.invalid") -> list[str]:
    r = requests.get(f"{endpoint}/{bucket}?list-type=2", timeout=10)
    return [line for line in r.text.splitlines() if "<Key>" in line]
