import os
import shutil

KINDS = {".pdf": "docs", ".png": "images", ".jpg": "images", ".zip": "archives"}


def organize(folder: str) -> int:
    moved = 0
    for name in os.listdir(folder):
        kind = KINDS.get(os.path.splitext(name)[1].lower())
        if kind:
            os.makedirs(os.path.join(folder, kind), exist_ok=True)
            shutil.move(os.path.join(folder, name), os.path.join(folder, kind, name))
            moved += 1
    return moved
