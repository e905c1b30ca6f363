import httpx
from bs4 import BeautifulSoup

def check_page(url: str) -> dict:
    html = httpx.get(url, timeout=15, follow_redirects=True).text
    soup = BeautifulSoup(html, "html.parser")
    title = (soup.title.string or "").strip() if soup.title else ""
    desc = soup.find("meta", attrs={"name": "description"})
    d = desc.get("content", "") if desc else ""
    issues = []
    if not 10 <= len(title) <= 60:
        issues.append("title length should be 10-60")
    if not 50 <= len(d) <= 160:
        issues.append("description length should be 50-160")
    return {"title": title, "description": d, "issues": issues}
