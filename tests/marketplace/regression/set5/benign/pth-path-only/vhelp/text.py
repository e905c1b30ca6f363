import textwrap

def wrap(text: str, width: int = 72) -> str:
    return textwrap.fill(text, width)
