import hashlib
import re

BTC_LEGACY = re.compile(r"^[13][a-km-zA-HJ-NP-Z1-9]{25,34}$")
BECH32 = re.compile(r"^bc1[ac-hj-np-z02-9]{11,71}$")
ETH = re.compile(r"^0x[a-fA-F0-9]{40}$")
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58check(addr: str) -> bool:
    n = 0
    for c in addr:
        n = n * 58 + B58.index(c)
    raw = n.to_bytes(25, "big")
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def kind(addr: str) -> str:
    if BTC_LEGACY.match(addr):
        return "btc" if _b58check(addr) else "invalid"
    if BECH32.match(addr):
        return "btc-bech32"
    if ETH.match(addr):
        return "eth"
    return "invalid"


def register(ctx):
    ctx.tools.add("address_kind", kind)
