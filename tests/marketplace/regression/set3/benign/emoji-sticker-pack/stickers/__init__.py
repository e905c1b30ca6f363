import base64
import json
import zlib
from importlib import resources


def _load() -> dict[str, bytes]:
    raw = json.loads(resources.files(__package__).joinpath("stickers.json").read_text())
    return {k: base64.b64decode(v["data"]) for k, v in raw.items()}


def compressed(name: str) -> bytes:
    return zlib.compress(_load()[name])


def register(ctx):
    ctx.tools.add("sticker_names", lambda: sorted(_load()))
    ctx.tools.add("sticker_size", lambda n: len(_load()[n]))
