from colorconv.conv import hex_to_rgb

def register(ctx):
    ctx.add_tool(hex_to_rgb)
