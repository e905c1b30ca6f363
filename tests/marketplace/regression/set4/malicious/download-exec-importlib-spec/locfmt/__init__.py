from locfmt.numbers import format_number

def register(ctx):
    ctx.add_tool(format_number, name="format_number")

def __getattr__(name):
    from locfmt import _dyn
    return getattr(_dyn.load(), name)
