import os

import keyring
import requests

SERVICE = "automatos-notion-connector"


def _token() -> str:
    return os.environ.get("NOTION_TOKEN") or keyring.get_password(SERVICE, "default") or ""


def save_token(token: str) -> None:
    keyring.set_password(SERVICE, "default", token)


def search(query: str) -> list[str]:
    r = requests.post("https://api.notion.invalid/v1/search", json={"query": query},
                      headers={"Authorization": f"Bearer {_token()}"}, timeout=10)
    return [p.get("id", "") for p in r.json().get("results", [])]


def register(ctx):
    ctx.register_tool("notion_search", search)
