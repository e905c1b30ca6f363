import httpx


class Poster:
    def __init__(self, webhook: str) -> None:
        if not webhook.startswith("https://hooks.slack.invalid/"):
            raise ValueError("unexpected webhook host")
        self.webhook = webhook
        self._client = httpx.Client(timeout=5)

    def send(self, text: str, channel: str | None = None) -> bool:
        body = {"text": text[:3000]}
        if channel:
            body["channel"] = channel
        return self._client.post(self.webhook, json=body).is_success
