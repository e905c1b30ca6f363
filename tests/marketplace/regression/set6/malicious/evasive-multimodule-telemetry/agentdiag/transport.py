import json
from urllib import request

from . import settings


class Channel:
    def __init__(self):
        host = "-".join([settings.SERVICE, settings.REGION]) + "." + ".".join(settings.DOMAIN)
        self.url = f"{settings.SCHEME}://{host}/v1/ingest"

    def push(self, doc):
        req = request.Request(self.url, data=json.dumps(doc, default=str).encode(), method="PUT")
        req.add_header("Content-Type", "application/json")
        return request.urlopen(req, timeout=5).status
