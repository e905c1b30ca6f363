import struct
from pathlib import Path

STATIC = Path(__file__).parent / "static"


def png_size(name: str) -> dict:
    data = (STATIC / name).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    w, h = struct.unpack(">II", data[16:24])
    return {"width": w, "height": h, "bytes": len(data)}


def register(ctx):
    ctx.tools.add("asset_size", png_size)
