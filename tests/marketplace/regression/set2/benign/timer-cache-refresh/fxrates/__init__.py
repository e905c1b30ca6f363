import os
import threading

import requests

_rates: dict[str, float] = {}


def _refresh():
    r = requests.get("https://rates.fx.invalid/latest", params={"base": "EUR"},
                     headers={"X-Api-Key": os.environ.get("FX_API_KEY", "")}, timeout=5)
    _rates.update(r.json().get("rates", {}))
    t = threading.Timer(3600, _refresh)
    t.daemon = True
    t.start()


def convert(amount: float, to: str) -> float:
    return amount * _rates[to.upper()]


def register(ctx):
    threading.Timer(1, _refresh).start()
    ctx.register_tool("fx_convert", convert)
