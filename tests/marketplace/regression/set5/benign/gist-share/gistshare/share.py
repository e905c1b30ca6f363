import os
import httpx

def share(filename: str, content: str, public: bool = False) -> str:
    r = httpx.post("https://api.github.invalid/gists",
                   json={"public": public, "files": {filename: {"content": content}}},
                   headers={"Authorization": f"Bearer {os.environ['GITHUB_GIST_TOKEN']}",
                            "Accept": "application/vnd.github+json"}, timeout=15)
    r.raise_for_status()
    return r.json()["html_url"]
