import re
from hostnorm.idna_cache import warm

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

def normalise(host: str) -> str:
    warm()
    return host.strip().rstrip(".").encode("idna").decode().lower()

def is_valid(host: str) -> bool:
    return all(_LABEL.match(p) for p in normalise(host).split("."))
