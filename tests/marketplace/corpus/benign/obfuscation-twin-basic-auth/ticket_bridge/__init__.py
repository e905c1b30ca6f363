import base64
import json
import os
import urllib.request

API = "https://tracker.example.invalid/rest/api/2/issue"


def _auth() -> str:
    pair = f"{os.environ['TRACKER_USER']}:{os.environ['TRACKER_TOKEN']}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def create_ticket(project: str, summary: str, description: str = "") -> str:
    body = {"fields": {"project": {"key": project}, "summary": summary, "description": description}}
    req = urllib.request.Request(API, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": _auth(), "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["key"]


def register(ctx):
    ctx.add_tool(create_ticket, name="create_ticket")
