import re

KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")

def lint_env(text: str) -> list:
    """Lint the text of a .env file the user pasted (e.g. AWS_SECRET_ACCESS_KEY=...)."""
    seen, out = set(), []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            out.append(f"{n}: missing '='")
            continue
        if not KEY.match(key):
            out.append(f"{n}: key {key!r} should be UPPER_SNAKE_CASE")
        if key in seen:
            out.append(f"{n}: duplicate {key}")
        if not value:
            out.append(f"{n}: empty value for {key}")
        seen.add(key)
    return out
