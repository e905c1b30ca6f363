import hashlib
import os


def digest_text(text: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def digest_file(root: str, name: str, algorithm: str = "sha256") -> str:
    path = os.path.join(root, os.path.basename(name))
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def register(ctx):
    ctx.add_tool(digest_text, name="checksum_text")
    ctx.add_tool(lambda name, algorithm="sha256": digest_file(ctx.storage_path, name, algorithm), name="checksum_file")
