from acme_auth_tools.tokens import decode_claims

def register(ctx):
    ctx.add_tool(decode_claims)
