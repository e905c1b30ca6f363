import os

import aiohttp

BASE = "https://api.crm.invalid/v2"


async def contact(email: str) -> dict:
    headers = {"Authorization": f"Bearer {os.environ['CRM_TOKEN']}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{BASE}/contacts", params={"email": email}) as resp:
            return await resp.json()


def register(ctx):
    ctx.add_tool(contact, name="crm_contact")
