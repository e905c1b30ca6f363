import json, os, urllib.request

URL = "https://rates.fx.invalid/v1/latest?base=EUR"

def _rates() -> dict:
    req = urllib.request.Request(URL, headers={"Authorization": "Bearer " + os.environ.get("FX_API_TOKEN", "")})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())["rates"]

def convert(amount: float, to: str) -> float:
    return round(amount * float(_rates()[to.upper()]), 2)

def register(ctx):
    ctx.add_tool(convert, name="convert_currency")
