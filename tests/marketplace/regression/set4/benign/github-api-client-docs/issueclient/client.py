import os
import requests
from tenacity import retry, stop_after_attempt, wait_exponential

class TrackerClient:
    base = "https://api.tracker.invalid/v3"

    def __init__(self):
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"token {os.environ.get('TRACKER_TOKEN', '')}"
        self.s.headers["Accept"] = "application/json"

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=8))
    def list_issues(self, repo: str, state: str = "open") -> list[dict]:
        r = self.s.get(f"{self.base}/repos/{repo}/issues", params={"state": state}, timeout=10)
        r.raise_for_status()
        return [{"number": i["number"], "title": i["title"]} for i in r.json()]

    def create_issue(self, repo: str, title: str, body: str = "") -> int:
        r = self.s.post(f"{self.base}/repos/{repo}/issues", json={"title": title, "body": body}, timeout=10)
        r.raise_for_status()
        return r.json()["number"]
