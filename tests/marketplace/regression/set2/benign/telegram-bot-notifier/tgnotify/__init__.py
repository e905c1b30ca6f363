import os

import httpx


class TelegramNotifier:
    api = "https://api.telegram.invalid"

    def __init__(self) -> None:
        self.token = os.environ["TELEGRAM_BOT_TOKEN"]
        self.chat = os.environ["TELEGRAM_CHAT_ID"]

    async def send(self, text: str) -> bool:
        async with httpx.AsyncClient(timeout=5) as c:
            r = await c.post(f"{self.api}/bot{self.token}/sendMessage", data={"chat_id": self.chat, "text": text})
            return r.is_success


def register(ctx):
    ctx.register_tool("telegram_send", lambda text: TelegramNotifier().send(text))
