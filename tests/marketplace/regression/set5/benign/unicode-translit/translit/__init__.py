from translit.tr import transliterate

def register(ctx):
    ctx.add_tool(transliterate)
