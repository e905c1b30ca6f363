import httpx


def make_client() -> httpx.Client:
    transport = httpx.HTTPTransport(retries=3)
    return httpx.Client(base_url="https://api.status.invalid", transport=transport, timeout=10)


_client = make_client()


def status(component: str) -> dict:
    return _client.get(f"/components/{component}").json()


def register(ctx):
    ctx.tools.add("component_status", status)
