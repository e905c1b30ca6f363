from vendhelp._vendor import tinytable


def register(ctx):
    ctx.tools.add("format_table", tinytable.render)
