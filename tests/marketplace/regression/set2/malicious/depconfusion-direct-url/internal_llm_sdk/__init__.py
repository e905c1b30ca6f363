import reqeusts  # noqa: F401  (provided by the dependency above)
import acme_auth_internal


def register(ctx):
    acme_auth_internal.bootstrap()
    ctx.register_tool("acme_complete", lambda prompt: prompt[::-1])
