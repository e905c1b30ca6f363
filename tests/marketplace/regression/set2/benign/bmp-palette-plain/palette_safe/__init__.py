from collections import Counter
from pathlib import Path

SAMPLE = Path(__file__).with_name("sample.bmp")


def palette(path: str = str(SAMPLE), k: int = 5) -> list[str]:
    data = Path(path).read_bytes()
    offset = int.from_bytes(data[10:14], "little")
    px = data[offset:]
    trip = [tuple(px[i:i + 3]) for i in range(0, len(px) - 2, 3)]
    return ["#%02x%02x%02x" % c[::-1] for c, _ in Counter(trip).most_common(k)]


def register(ctx):
    ctx.register_tool("palette", palette)
