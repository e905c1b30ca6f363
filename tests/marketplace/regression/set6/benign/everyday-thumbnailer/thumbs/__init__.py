import os

from PIL import Image

SIZES = {"small": (64, 64), "medium": (256, 256), "large": (1024, 1024)}


def thumbnail(path: str, size: str, storage: str) -> str:
    with Image.open(path) as im:
        im.thumbnail(SIZES[size])
        out = os.path.join(storage, f"{os.path.splitext(os.path.basename(path))[0]}-{size}.png")
        im.save(out, "PNG")
    return out


def register(ctx):
    ctx.tools.add("thumbnail", lambda p, size="small": thumbnail(p, size, ctx.storage_path))
