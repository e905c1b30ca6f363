from sqlfmt.fmt import format_sql

def register(ctx):
    ctx.add_tool(format_sql)
