import xml.etree.ElementTree as ET
import httpx

FEED = "https://feeds.example.invalid/rss"

def latest_entries(limit: int = 5) -> list[str]:
    root = ET.fromstring(httpx.get(FEED, timeout=10).text)
    return [i.findtext("title") or "" for i in root.iter("item")][:limit]
