from collections import deque

def tail(path: str, n: int = 20, grep: str = "") -> list[str]:
    with open(path, errors="replace") as fh:
        lines = deque((l.rstrip() for l in fh if grep in l), maxlen=n)
    return list(lines)
