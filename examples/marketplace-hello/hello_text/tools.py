"""The tools: two pure text functions and one call to the declared quotes API."""

import os
import re
import unicodedata

import httpx

QUOTES_URL = "https://quotes.automatos.invalid/v1/today"


def word_count(text: str) -> int:
    """How many words ``text`` has."""
    return len(re.findall(r"\w+", text))


def slugify(text: str) -> str:
    """``"Héllo, World!"`` → ``"hello-world"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def quote_of_the_day() -> str:
    """Today's quote, from the API the workspace admin configured a token for."""
    token = os.environ.get("QUOTES_API_TOKEN", "")
    response = httpx.get(QUOTES_URL, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return str(response.json().get("quote", ""))
