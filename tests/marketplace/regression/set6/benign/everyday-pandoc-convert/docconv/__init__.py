import os
import subprocess
import tempfile

TARGETS = {"pdf", "docx", "html", "odt"}


def convert(markdown: str, target: str, storage: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}")
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as src:
        src.write(markdown)
    out = os.path.join(storage, f"document.{target}")
    try:
        subprocess.run(["pandoc", src.name, "--standalone", "-o", out], check=True, capture_output=True, timeout=120)
    finally:
        os.unlink(src.name)
    return out


def register(ctx):
    ctx.tools.add("convert_document", lambda md, target="pdf": convert(md, target, ctx.storage_path))
