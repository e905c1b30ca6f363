"""URL Card: the example plugin of the marketplace runtime (docs/plugins.md).

``register(ctx)`` runs once per approved version in a sandbox worker and declares the tools; each
tool call runs its handler there as ``handler(ctx, **arguments)``. The page is fetched through
``ctx.http`` (only the hosts granted at approval), and cards are kept for an hour in ``ctx.kv``
(this plugin's namespace in the workspace).
"""

import hashlib

from url_card.card import card_from_html, normalise_url

CACHE_SECONDS = 3600

URL_CARD_SCHEMA = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "minLength": 8, "maxLength": 2000, "description": "http(s) URL of the page"},
        "max_description": {"type": "integer", "minimum": 40, "maximum": 1000, "default": 280},
    },
    "required": ["url"],
    "additionalProperties": False,
}

FROM_HTML_SCHEMA = {
    "type": "object",
    "properties": {
        "html": {"type": "string", "maxLength": 1000000},
        "url": {"type": "string", "maxLength": 2000},
        "max_description": {"type": "integer", "minimum": 40, "maximum": 1000, "default": 280},
    },
    "required": ["html"],
    "additionalProperties": False,
}


def register(ctx):
    ctx.add_tool(
        url_card,
        name="url_card",
        description=(
            "Fetch a page of an allowed site and summarise it as a card: "
            "title, description, image, site, language, reading time."
        ),
        parameters=URL_CARD_SCHEMA,
    )
    ctx.add_tool(
        card_from_page,
        name="card_from_html",
        description="Summarise HTML the caller already has as a card (no network).",
        parameters=FROM_HTML_SCHEMA,
    )


def url_card(ctx, url, max_description=280):
    """Fetch ``url`` through the granted http capability and return its card."""
    url = normalise_url(url)
    key = "card/" + str(max_description) + "/" + hashlib.sha256(url.encode("utf-8")).hexdigest()
    cached = ctx.kv.get(key)
    if cached is not None:
        cached["cached"] = True
        return cached
    response = ctx.http.get(url, headers={"accept": "text/html"})
    status = response["status"]
    if status >= 400:
        raise ValueError("the page answered HTTP " + str(status))
    card = card_from_html(response["text"], response["url"] or url, max_description)
    card["status"] = status
    card["truncated"] = bool(response.get("truncated"))
    ctx.kv.set(key, card, ttl=CACHE_SECONDS)
    ctx.log.info("carded " + card["site"])
    card["cached"] = False
    return card


def card_from_page(ctx, html, url="", max_description=280):
    """The card of ``html`` (as if fetched from ``url``)."""
    return card_from_html(html, url, max_description)
