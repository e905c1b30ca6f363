_M = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
      (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]

def to_roman(n: int) -> str:
    out = ""
    for v, s in _M:
        while n >= v:
            out += s
            n -= v
    return out

def register(ctx):
    ctx.add_tool(to_roman, name="to_roman")
