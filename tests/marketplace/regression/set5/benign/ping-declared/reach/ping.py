import re, subprocess

HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")

def reachable(host: str) -> bool:
    if not HOST.match(host):
        raise ValueError("invalid host name")
    return subprocess.run(["ping", "-c", "1", "-W", "2", host], capture_output=True).returncode == 0
