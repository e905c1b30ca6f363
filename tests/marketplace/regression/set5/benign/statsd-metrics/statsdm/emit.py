import os, socket

_SOCK = None

def incr(metric: str, value: int = 1) -> None:
    global _SOCK
    if _SOCK is None:
        _SOCK = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host = os.environ.get("STATSD_HOST", "statsd.metrics.invalid")
    _SOCK.sendto(f"{metric}:{int(value)}|c".encode(), (host, 8125))
