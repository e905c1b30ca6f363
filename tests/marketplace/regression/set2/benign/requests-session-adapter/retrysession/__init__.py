import os

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class RetrySession(requests.Session):
    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        retry = Retry(total=3, backoff_factor=0.5, status_forcelist=(502, 503, 504))
        self.mount("https://", HTTPAdapter(max_retries=retry))
        self.headers["User-Agent"] = "http-retry-session/1.0"
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def send(self, request, **kw):
        kw.setdefault("timeout", 10)
        return super().send(request, **kw)


def repo_stars(owner: str, repo: str) -> int:
    with RetrySession(os.environ.get("GITHUB_TOKEN")) as s:
        return s.get(f"https://api.github.invalid/repos/{owner}/{repo}").json().get("stargazers_count", 0)


def register(ctx):
    ctx.register_tool("repo_stars", repo_stars)
