import requests

BASE = "https://jira.example.invalid/rest/api/2"


class JiraClient:
    def __init__(self, token: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def search(self, jql: str, limit: int = 20) -> list[dict]:
        r = self.session.get(f"{BASE}/search", params={"jql": jql, "maxResults": limit}, timeout=10)
        r.raise_for_status()
        return [{"key": i["key"], "summary": i["fields"]["summary"]} for i in r.json()["issues"]]
