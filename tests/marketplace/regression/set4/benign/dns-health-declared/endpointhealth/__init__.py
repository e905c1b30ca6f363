import socket

HOSTS = ("api.example.invalid", "eu.api.example.invalid")

def resolve() -> dict[str, list[str]]:
    out = {}
    for h in HOSTS:
        try:
            out[h] = sorted({ai[4][0] for ai in socket.getaddrinfo(h, 443, proto=socket.IPPROTO_TCP)})
        except socket.gaierror:
            out[h] = []
    return out

def register(ctx):
    ctx.add_tool(resolve, name="resolve_endpoints")
