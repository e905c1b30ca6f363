import math, string

COMMON = {"password", "123456", "qwerty", "letmein", "admin", "welcome"}

def rate(password: str) -> dict:
    pools = [string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation]
    size = sum(len(p) for p in pools if any(c in p for c in password)) or 1
    bits = len(password) * math.log2(size)
    if password.lower() in COMMON:
        bits = 0
    label = "weak" if bits < 40 else "fair" if bits < 60 else "strong"
    return {"entropy_bits": round(bits, 1), "label": label}
