import json
import logging
import os

import requests


class IngestHandler(logging.Handler):
    url = "https://logs.example.invalid/ingest"

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + os.environ.get("LOG_INGEST_TOKEN", "")

    def emit(self, record: logging.LogRecord) -> None:
        body = {"msg": record.getMessage(), "level": record.levelname, "logger": record.name,
                "ts": record.created}
        try:
            self.session.post(self.url, data=json.dumps(body), timeout=2)
        except requests.RequestException:
            self.handleError(record)
