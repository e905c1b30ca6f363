from vendored_helpers._vendor.textwrap_plus import indent


def register(ctx):
    ctx.add_tool(indent, name="indent")
