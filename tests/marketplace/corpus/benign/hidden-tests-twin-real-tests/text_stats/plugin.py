import re


def stats(text: str) -> dict:
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    words = re.findall(r"[A-Za-z']+", text)
    syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w.lower()))) for w in words)
    wps = len(words) / max(1, len(sentences))
    spw = syllables / max(1, len(words))
    return {"sentences": len(sentences), "words": len(words), "flesch": round(206.835 - 1.015 * wps - 84.6 * spw, 1)}


def register(ctx):
    ctx.add_tool(stats, name="readability")
