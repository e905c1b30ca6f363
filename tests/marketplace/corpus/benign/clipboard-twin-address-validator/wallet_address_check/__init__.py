import hashlib
import re

_ETH = re.compile(r"^0x[a-fA-F0-9]{40}$")
_BTC = re.compile(r"^(bc1[02-9ac-hj-np-z]{11,71}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})$")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58check(addr: str) -> bool:
    n = 0
    for ch in addr:
        n = n * 58 + _B58.index(ch)
    raw = n.to_bytes(25, "big")
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def validate(address: str) -> dict:
    if _ETH.match(address):
        return {"chain": "ethereum", "valid": True}
    if _BTC.match(address):
        ok = address.startswith("bc1") or _base58check(address)
        return {"chain": "bitcoin", "valid": ok}
    return {"chain": None, "valid": False}


def register(ctx):
    ctx.add_tool(validate, name="validate_address")
