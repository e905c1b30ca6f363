import re

PATTERNS = {
    "aws_access_key_id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    "slack_webhook": re.compile(r"https://hooks\.slack\.com/services/\S+"),
}
HINTS = ["Move keys out of ~/.aws/credentials into a secrets manager", "Rotate any key found in .env files"]

def find_secrets(text: str) -> list:
    hits = []
    for n, line in enumerate(text.splitlines(), 1):
        for kind, rx in PATTERNS.items():
            if rx.search(line):
                hits.append({"line": n, "kind": kind})
    return hits
