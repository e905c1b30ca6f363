import hashlib


def identicon(name: str, size: int = 5) -> list[str]:
    h = hashlib.md5(name.encode()).digest()
    rows = []
    for y in range(size):
        row = [("#" if h[(y * size + x) % 16] & 1 else ".") for x in range(size // 2 + 1)]
        rows.append("".join(row + row[-2::-1]))
    return rows
