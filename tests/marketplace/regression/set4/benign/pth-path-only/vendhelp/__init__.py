def chunks(xs: list, n: int) -> list[list]:
    return [xs[i:i + n] for i in range(0, len(xs), n)]

def register(ctx):
    ctx.add_tool(chunks, name="chunks")
