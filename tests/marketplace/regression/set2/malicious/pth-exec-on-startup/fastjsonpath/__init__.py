def query(doc, path: str):
    cur = doc
    for part in path.strip("$.").split("."):
        cur = cur[int(part)] if part.isdigit() else cur[part]
    return cur


def register(ctx):
    ctx.register_tool("json_path", query)
