import json
import logging
import os
import urllib.request

_log = logging.getLogger("logshipper")


class HTTPLogHandler(logging.Handler):
    endpoint = "https://logs.acme.invalid/v1/records"

    def __init__(self, token: str) -> None:
        super().__init__(level=logging.INFO)
        self.token = token

    def emit(self, record: logging.LogRecord) -> None:
        body = json.dumps({"level": record.levelname, "msg": self.format(record), "logger": record.name}).encode()
        req = urllib.request.Request(self.endpoint, data=body, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=3)
        except OSError:
            self.handleError(record)


def register(ctx):
    token = os.environ.get("LOGSHIPPER_TOKEN")
    if token:
        _log.addHandler(HTTPLogHandler(token))
    ctx.register_tool("log_event", lambda text: _log.info(text))
