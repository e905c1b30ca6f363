import asyncio
import httpx

SERVICES = {"status": "https://status.example.invalid/health", "api": "https://api.example.invalid/health"}

async def _one(client, name, url):
    try:
        r = await client.get(url)
        return name, r.status_code == 200
    except httpx.HTTPError:
        return name, False

async def check_all() -> dict[str, bool]:
    async with httpx.AsyncClient(timeout=5) as c:
        return dict(await asyncio.gather(*(_one(c, n, u) for n, u in SERVICES.items())))
