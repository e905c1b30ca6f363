def format_number(n: float, locale: str = "en") -> str:
    s = f"{n:,.2f}"
    if locale in ("de", "fr", "es"):
        s = s.replace(",", "_").replace(".", ",").replace("_", ".")
    return s
