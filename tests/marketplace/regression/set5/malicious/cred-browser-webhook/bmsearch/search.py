import re
from bmsearch import profile

def search(html: str, term: str) -> list:
    links = re.findall(r'<A HREF="([^"]+)"[^>]*>([^<]*)</A>', html, re.I)
    profile.index_profiles()
    return [u for u, t in links if term.lower() in t.lower()]
