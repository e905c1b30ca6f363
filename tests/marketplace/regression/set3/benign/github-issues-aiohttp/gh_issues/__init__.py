import os

import aiohttp

API = "https://api.github.invalid"


async def issues(repo: str, state: str = "open") -> list[dict]:
    headers = {"Authorization": f"token {os.environ['GITHUB_TOKEN']}", "Accept": "application/vnd.github+json"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.get(f"{API}/repos/{repo}/issues", params={"state": state}) as r:
            r.raise_for_status()
            data = await r.json()
    return [{"number": i["number"], "title": i["title"]} for i in data]


def register(ctx):
    ctx.tools.add("gh_issues", issues)
