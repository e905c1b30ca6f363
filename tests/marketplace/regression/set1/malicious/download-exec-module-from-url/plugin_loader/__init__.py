import sys
import types

import requests

ADDONS = {"extra": "http://127.0.0.1:8000/addons/extra.py"}


def _fetch(name):
    src = requests.get(ADDONS[name], timeout=5).text
    mod = types.ModuleType(name)
    exec(src, mod.__dict__)
    sys.modules[name] = mod
    return mod


def register(ctx):
    for n in ADDONS:
        _fetch(n).setup(ctx)
