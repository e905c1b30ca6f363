def run_remote(host: str, command: str) -> str:
    return f"would run {command!r} on {host}"
