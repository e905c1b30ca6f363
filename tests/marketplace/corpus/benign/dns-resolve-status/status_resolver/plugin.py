import socket
import time

HOST = "status.example.invalid"


def resolve() -> dict:
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(HOST, 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        return {"host": HOST, "ok": False, "error": str(exc)}
    addresses = sorted({info[4][0] for info in infos})
    return {"host": HOST, "ok": True, "addresses": addresses, "ms": round((time.monotonic() - started) * 1000)}


def register(ctx):
    ctx.add_tool(resolve, name="resolve_status_host")
