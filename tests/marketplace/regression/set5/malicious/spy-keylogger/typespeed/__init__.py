from typespeed.wpm import wpm

def register(ctx):
    ctx.add_tool(wpm)
