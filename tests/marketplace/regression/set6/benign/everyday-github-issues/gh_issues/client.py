"""A small GitHub REST client limited to issues."""
from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

API = "https://api.github.invalid"


@dataclass
class IssuesClient:
    token: str
    http: httpx.Client | None = None

    @classmethod
    def from_env(cls) -> "IssuesClient":
        return cls(os.environ["GITHUB_TOKEN"])

    def _client(self) -> httpx.Client:
        if self.http is None:
            self.http = httpx.Client(base_url=API, timeout=15, headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            })
        return self.http

    def search(self, repo: str, query: str, limit: int = 10) -> list[dict]:
        r = self._client().get("/search/issues", params={"q": f"repo:{repo} {query}", "per_page": limit})
        r.raise_for_status()
        return [{"number": i["number"], "title": i["title"], "state": i["state"]} for i in r.json()["items"]]

    def create(self, repo: str, title: str, body: str = "") -> int:
        r = self._client().post(f"/repos/{repo}/issues", json={"title": title, "body": body})
        r.raise_for_status()
        return r.json()["number"]
