"""The card parser, with plain Python (the runtime runs the same code in the sandbox)."""

from url_card.card import absolute, card_from_html, normalise_url, shorten, unescape

PAGE = """<!doctype html><html lang="en-GB"><head>
<title>Fallback title</title>
<meta property="og:title" content="Python &amp; the Zen">
<meta name="description" content='The Zen of Python, nineteen aphorisms.'>
<meta property="og:image" content="/static/zen.png">
<meta property="og:site_name" content="PEPs">
<script>var ignored = "<p>not text</p>";</script>
</head><body><h1>Heading</h1><p>First &#8220;paragraph&#8221;.</p>
<p>Beautiful is better than ugly.</p></body></html>"""


def test_card_prefers_open_graph_and_resolves_the_image() -> None:
    card = card_from_html(PAGE, "https://peps.python.org/pep-0020/")
    assert card["title"] == "Python & the Zen"
    assert card["description"] == "The Zen of Python, nineteen aphorisms."
    assert card["image"] == "https://peps.python.org/static/zen.png"
    assert card["site"] == "PEPs"
    assert card["language"] == "en-gb"
    assert card["reading_minutes"] == 1
    assert card["words"] > 5


def test_card_falls_back_to_the_page_itself() -> None:
    card = card_from_html("<title> A  page </title><p></p><p>Body &lt;text&gt;</p>", "http://example.org/a/b")
    assert card["title"] == "A page"
    assert card["description"] == "Body <text>"
    assert card["site"] == "example.org"


def test_helpers() -> None:
    assert unescape("&#x41;&#66;&zzz;") == "AB&zzz;"
    assert shorten("one two three four five six", 12) == "one two…"
    assert normalise_url(" HTTPS://Example.ORG ") == "https://example.org/"
    assert absolute("img.png", "https://a.org/x/page.html?q=1") == "https://a.org/x/img.png"
    assert absolute("//cdn.a.org/i.png", "https://a.org/") == "https://cdn.a.org/i.png"
