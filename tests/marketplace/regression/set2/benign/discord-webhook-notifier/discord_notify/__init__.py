import json
import os
from urllib.request import Request, urlopen


def notify(title: str, text: str) -> int:
    url = os.environ["DISCORD_WEBHOOK_URL"]
    if not url.startswith("https://discord.invalid/api/webhooks/"):
        raise ValueError("DISCORD_WEBHOOK_URL must be a Discord webhook")
    body = {"embeds": [{"title": title[:256], "description": text[:4000]}]}
    req = Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urlopen(req, timeout=5) as resp:
        return resp.status


def register(ctx):
    ctx.register_tool("discord_notify", notify)
