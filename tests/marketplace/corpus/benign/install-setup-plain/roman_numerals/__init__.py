_TABLE = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def to_roman(n: int) -> str:
    out = []
    for value, sym in _TABLE:
        count, n = divmod(n, value)
        out.append(sym * count)
    return "".join(out)


def from_roman(s: str) -> int:
    total, i = 0, 0
    for value, sym in _TABLE:
        while s.startswith(sym, i):
            total += value
            i += len(sym)
    return total


def register(ctx):
    ctx.add_tool(to_roman, name="to_roman")
    ctx.add_tool(from_roman, name="from_roman")
