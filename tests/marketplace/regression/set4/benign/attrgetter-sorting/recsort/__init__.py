import codecs, operator

def sort_records(rows: list[dict], *fields: str) -> list[dict]:
    return sorted(rows, key=operator.itemgetter(*fields))

def transform(words: list[str], method: str = "title") -> list[str]:
    if method not in {"title", "upper", "lower", "strip"}:
        raise ValueError(method)
    return list(map(operator.methodcaller(method), words))

def rot13(text: str) -> str:
    return codecs.encode(text, "rot13")

def register(ctx):
    ctx.add_tool(sort_records, name="sort_records")
    ctx.add_tool(transform, name="transform_words")
    ctx.add_tool(rot13, name="rot13")
