"""Read a page's card out of its HTML: pure functions, no I/O (tested with plain Python too).

Written for the sandbox policy: the standard modules it allows (``re`` here), no names starting
with ``_``, no ``str.format``.
"""

import re

ENTITIES = {
    "amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " ", "mdash": "\u2014",
    "ndash": "\u2013", "hellip": "\u2026", "rsquo": "\u2019", "lsquo": "\u2018", "rdquo": "\u201d",
    "ldquo": "\u201c", "copy": "\u00a9",
}  # fmt: skip
ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
TAG = re.compile(r"<[^>]*>")
SPACE = re.compile(r"\s+")
META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"""([a-zA-Z:-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))""")
TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
HEADING = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.IGNORECASE | re.DOTALL)
LANG = re.compile(r"<html\b[^>]*\blang\s*=\s*[\"']?([a-zA-Z-]{2,20})", re.IGNORECASE)
INVISIBLE = re.compile(r"<(script|style|noscript|template|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
URL = re.compile(r"^(https?)://([^/?#\s]+)([^\s]*)$", re.IGNORECASE)
WORDS_PER_MINUTE = 230


def unescape(text):
    """``&amp;`` → ``&``, ``&#233;`` → ``é``; an unknown entity stays as written."""

    def replace(match):
        name = match.group(1)
        if name.startswith("#x") or name.startswith("#X"):
            code = int(name[2:], 16)
        elif name.startswith("#"):
            code = int(name[1:])
        else:
            return ENTITIES.get(name.lower(), match.group(0))
        if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return ""
        return chr(code)

    return ENTITY.sub(replace, text)


def clean(text):
    """Tags dropped, entities decoded, whitespace folded."""
    return SPACE.sub(" ", unescape(TAG.sub(" ", text))).strip()


def shorten(text, limit):
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def normalise_url(url):
    """A trimmed http(s) URL; anything else is refused with the reason."""
    url = str(url).strip()
    match = URL.match(url)
    if match is None:
        raise ValueError("expected an http(s) URL, got " + repr(url[:100]))
    return match.group(1).lower() + "://" + match.group(2).lower() + (match.group(3) or "/")


def host_of(url):
    match = URL.match(url or "")
    if match is None:
        return ""
    host = match.group(2).lower().split("@")[-1].split(":")[0]
    return host


def absolute(link, base):
    """``link`` resolved against the page ``base`` (enough for images and canonical links)."""
    link = link.strip()
    if not link or URL.match(link):
        return link
    match = URL.match(base or "")
    if match is None:
        return link
    origin = match.group(1).lower() + "://" + match.group(2)
    if link.startswith("//"):
        return match.group(1).lower() + ":" + link
    if link.startswith("/"):
        return origin + link
    path = match.group(3).split("?")[0].split("#")[0]
    folder = path[: path.rfind("/") + 1] if "/" in path else "/"
    return origin + folder + link


def meta_tags(html):
    """``{property or name (lower case): content}`` of the page's ``<meta>`` tags (first one wins)."""
    found = {}
    for tag in META.findall(html):
        attributes = {}
        for match in ATTRIBUTE.finditer(tag):
            value = match.group(3)
            if value is None:
                value = match.group(4)
            if value is None:
                value = match.group(5)
            attributes[match.group(1).lower()] = value
        key = (attributes.get("property") or attributes.get("name") or "").lower()
        content = attributes.get("content")
        if key and content is not None and key not in found:
            found[key] = clean(content)
    return found


def first_text(pattern, html):
    for match in pattern.finditer(html):
        text = clean(match.group(1))
        if text:
            return text
    return ""


def card_from_html(html, url="", max_description=280):
    """The card of a page: what a chat shows for a link.

    ``{"url", "site", "title", "description", "image", "language", "words", "reading_minutes"}``;
    Open Graph and Twitter tags first, then the page's own ``<title>``, ``<h1>`` and first paragraph.
    """
    if not isinstance(html, str):
        raise ValueError("html must be text")
    limit = int(max_description)
    if limit < 40 or limit > 1000:
        raise ValueError("max_description must be between 40 and 1000")
    page = COMMENT.sub(" ", html)
    meta = meta_tags(page)
    visible = INVISIBLE.sub(" ", page)
    title = meta.get("og:title") or meta.get("twitter:title") or first_text(TITLE, visible)
    title = title or first_text(HEADING, visible)
    description = meta.get("og:description") or meta.get("twitter:description") or meta.get("description")
    description = description or first_text(PARAGRAPH, visible)
    image = meta.get("og:image") or meta.get("twitter:image") or ""
    words = len(clean(visible).split())
    language = ""
    match = LANG.search(page)
    if match is not None:
        language = match.group(1).lower()
    return {
        "url": url,
        "site": meta.get("og:site_name") or host_of(url),
        "title": shorten(title, 200),
        "description": shorten(description, limit),
        "image": absolute(image, url) if image else "",
        "language": language,
        "words": words,
        "reading_minutes": max(1, (words + WORDS_PER_MINUTE - 1) // WORDS_PER_MINUTE) if words else 0,
    }
