def checklist() -> list[str]:
    return ["nouns for resources", "plural collections", "problem+json errors", "cursor pagination"]


def register(ctx):
    ctx.add_tool(checklist, name="api_checklist")
