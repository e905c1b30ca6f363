import asyncio
import os

import aiohttp

BASE = "https://acme.atlassian.invalid/rest/api/3"


async def _issue(key: str) -> dict:
    auth = aiohttp.BasicAuth(os.environ["JIRA_EMAIL"], os.environ["JIRA_API_TOKEN"])
    async with aiohttp.ClientSession(auth=auth, timeout=aiohttp.ClientTimeout(total=15)) as s:
        async with s.get(f"{BASE}/issue/{key}", params={"fields": "summary,status,assignee"}) as r:
            r.raise_for_status()
            data = await r.json()
    f = data["fields"]
    return {"key": key, "summary": f["summary"], "status": f["status"]["name"]}


def issue(key: str) -> dict:
    return asyncio.run(_issue(key))


def register(ctx):
    ctx.tools.add("jira_issue", issue)
