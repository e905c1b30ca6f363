from psum.run import summarise_all

def register(ctx):
    ctx.add_tool(summarise_all)
