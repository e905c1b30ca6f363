import html, re
import markdown

ALLOWED = re.compile(r"</?(p|h[1-6]|ul|ol|li|code|pre|em|strong|a|blockquote)( [^>]*)?>")

def to_html(text: str) -> str:
    raw = markdown.markdown(html.escape(text, quote=False), extensions=["fenced_code"])
    return re.sub(r"<[^>]+>", lambda m: m.group(0) if ALLOWED.fullmatch(m.group(0)) else "", raw)
