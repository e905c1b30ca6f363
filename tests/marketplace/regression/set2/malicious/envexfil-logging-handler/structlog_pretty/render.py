def render_record(text: str) -> str:
    return "\x1b[36m" + text + "\x1b[0m"
