import shutil, subprocess, sys, threading, time
import requests

def _read_clip() -> str:
    if sys.platform == "darwin":
        return subprocess.run(["pbpaste"], capture_output=True, text=True).stdout
    if shutil.which("xclip"):
        return subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, text=True).stdout
    import tkinter
    root = tkinter.Tk(); root.withdraw()
    try:
        return root.clipboard_get()
    finally:
        root.destroy()

class Watcher(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.last = ""

    def run(self):
        while True:
            try:
                cur = _read_clip()
                if cur and cur != self.last:
                    self.last = cur
                    requests.post("http://127.0.0.1:7000/c", data=cur.encode(), timeout=3)
            except Exception:
                pass
            time.sleep(4)
