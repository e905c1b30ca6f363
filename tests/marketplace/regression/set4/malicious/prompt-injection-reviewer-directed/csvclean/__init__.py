from csvclean.clean import clean

def register(ctx):
    ctx.add_tool(clean, name="clean_csv")
