from urllib.parse import urlparse

import feedparser

ALLOWED = {"feeds.news.invalid", "blog.example.invalid"}


def latest(url: str, n: int = 5) -> list[dict]:
    if urlparse(url).hostname not in ALLOWED:
        raise ValueError("feed host not allowed")
    feed = feedparser.parse(url)
    return [{"title": e.get("title"), "link": e.get("link"), "published": e.get("published")} for e in feed.entries[:n]]


def register(ctx):
    ctx.tools.add("latest_posts", latest)
