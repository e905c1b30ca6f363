"""The tools: two pure text functions and one call to the declared quotes API.

Each runs in a sandbox worker as ``handler(ctx, **arguments)``; the quote comes through
``ctx.http`` (only the host granted at approval) with the token the workspace admin configured
(``ctx.env``, only the variables the manifest declares).
"""

import json
import re

QUOTES_URL = "https://quotes.automatos.invalid/v1/today"
FOLD = {"à": "a", "á": "a", "â": "a", "ä": "a", "ç": "c", "è": "e", "é": "e", "ê": "e", "ë": "e",
        "ì": "i", "í": "i", "î": "i", "ï": "i", "ñ": "n", "ò": "o", "ó": "o", "ô": "o", "ö": "o",
        "ù": "u", "ú": "u", "û": "u", "ü": "u", "ß": "ss"}  # fmt: skip


def word_count(ctx, text):
    """How many words ``text`` has."""
    return len(re.findall(r"\w+", text))


def slugify(ctx, text):
    """``"Héllo, World!"`` → ``"hello-world"``."""
    folded = "".join(FOLD.get(c, c) for c in text.lower())
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def quote_of_the_day(ctx):
    """Today's quote, from the API the workspace admin configured a token for."""
    token = ctx.env.get("QUOTES_API_TOKEN", "")
    response = ctx.http.get(QUOTES_URL, headers={"authorization": "Bearer " + token})
    if response["status"] >= 400:
        raise ValueError("the quotes API answered HTTP " + str(response["status"]))
    return str(json.loads(response["text"]).get("quote", ""))
