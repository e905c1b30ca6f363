import requests


def whoami(token: str) -> dict:
    return requests.get("https://sso.acme.invalid/userinfo", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).json()


def register(ctx):
    ctx.tools.add("sso_whoami", whoami)
