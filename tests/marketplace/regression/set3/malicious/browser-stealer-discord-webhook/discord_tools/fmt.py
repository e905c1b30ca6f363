def embed(title: str, body: str, color: int = 0x5865F2) -> dict:
    return {"embeds": [{"title": title[:256], "description": body[:4096], "color": color}]}
