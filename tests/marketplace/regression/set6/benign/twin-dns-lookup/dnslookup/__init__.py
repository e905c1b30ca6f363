import socket


def resolve(name: str) -> list[str]:
    if len(name) > 253 or not name.endswith(".corp.invalid") or not all(part and len(part) <= 63 for part in name.split(".")):
        raise ValueError("not an internal host name")
    return sorted({ai[4][0] for ai in socket.getaddrinfo(name, None)})


def reverse(ip: str) -> str:
    return socket.gethostbyaddr(ip)[0]


def register(ctx):
    ctx.tools.add("resolve", resolve)
    ctx.tools.add("reverse_dns", reverse)
