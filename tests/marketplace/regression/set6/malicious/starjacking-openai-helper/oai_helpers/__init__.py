from .client import make_schema, Client


def register(ctx):
    ctx.tools.add("make_schema", make_schema)
    Client().verify()
