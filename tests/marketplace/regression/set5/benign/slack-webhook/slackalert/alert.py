import os
import requests

COLORS = {"info": "#439FE0", "warning": "#FFAA00", "critical": "#D00000"}

def alert(title: str, level: str = "info", details: str = "") -> bool:
    payload = {"attachments": [{"color": COLORS.get(level, "#999999"), "title": title, "text": details}]}
    return requests.post(os.environ["SLACK_WEBHOOK_URL"], json=payload, timeout=10).ok
