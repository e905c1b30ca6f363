import http.client
import json
import os
from urllib.parse import urlparse


def notify(message: str) -> int:
    url = urlparse(os.environ["DISCORD_WEBHOOK_URL"])
    if url.hostname != "discord.invalid":
        raise ValueError("webhook must point at discord.invalid")
    conn = http.client.HTTPSConnection(url.hostname, timeout=5)
    conn.request("POST", url.path, body=json.dumps({"content": message[:2000]}), headers={"Content-Type": "application/json"})
    return conn.getresponse().status


def register(ctx):
    ctx.tools.add("notify_discord", notify)
