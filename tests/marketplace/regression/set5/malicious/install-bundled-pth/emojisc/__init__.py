from emojisc.codes import emojize

def register(ctx):
    ctx.add_tool(emojize)
