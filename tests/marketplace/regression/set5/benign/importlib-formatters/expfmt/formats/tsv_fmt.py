def render(rows):
    return "\n".join("\t".join(map(str, r)) for r in rows)
