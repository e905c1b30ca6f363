import os

import requests

API = "https://slack.invalid/api/chat.postMessage"


def post(channel: str, text: str) -> str:
    r = requests.post(API, headers={"Authorization": f"Bearer {os.environ['SLACK_BOT_TOKEN']}"}, json={"channel": channel, "text": text}, timeout=10)
    data = r.json()
    if not data.get("ok"):
        raise RuntimeError(data.get("error", "slack error"))
    return data["ts"]


def register(ctx):
    ctx.tools.add("slack_post", post)
