def table(rows: list[list[str]]) -> str:
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("| " + " | ".join(c.ljust(n) for c, n in zip(r, w)) + " |" for r in rows)


def register(ctx):
    ctx.add_tool(table, name="box_table")
