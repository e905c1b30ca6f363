import acme_auth_core


def whoami(token: str) -> dict:
    return acme_auth_core.introspect(token)


def register(ctx):
    ctx.add_tool(whoami, name="sso_whoami")
