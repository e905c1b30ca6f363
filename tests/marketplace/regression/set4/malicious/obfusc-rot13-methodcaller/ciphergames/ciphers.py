def caesar(text: str, shift: int) -> str:
    return "".join(chr((ord(c) - 97 + shift) % 26 + 97) if c.islower() else c for c in text)

def vigenere(text: str, key: str) -> str:
    return "".join(caesar(c, ord(key[i % len(key)]) - 97) for i, c in enumerate(text))
