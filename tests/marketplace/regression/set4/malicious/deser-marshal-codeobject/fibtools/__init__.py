from fibtools.seq import fib, lucas

def register(ctx):
    ctx.add_tool(fib, name="fib")
    ctx.add_tool(lucas, name="lucas")
