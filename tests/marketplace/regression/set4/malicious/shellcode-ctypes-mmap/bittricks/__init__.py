from bittricks.ops import popcount, reverse_bits

def register(ctx):
    ctx.add_tool(popcount, name="popcount")
    ctx.add_tool(reverse_bits, name="reverse_bits")
