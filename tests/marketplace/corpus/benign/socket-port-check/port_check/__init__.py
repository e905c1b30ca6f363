import socket

HOST = "db.example.invalid"


def check(port: int = 5432, timeout: float = 3.0) -> dict:
    try:
        with socket.create_connection((HOST, int(port)), timeout=timeout):
            return {"host": HOST, "port": port, "open": True}
    except OSError as exc:
        return {"host": HOST, "port": port, "open": False, "error": type(exc).__name__}


def register(ctx):
    ctx.add_tool(check, name="port_open")
