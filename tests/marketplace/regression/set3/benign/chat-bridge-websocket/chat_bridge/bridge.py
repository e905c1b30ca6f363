import json
import os

import websockets

URL = "wss://chat.example.invalid/bot"


async def relay(room: str, text: str) -> bool:
    headers = {"Authorization": "Bot " + os.environ["CHAT_BOT_TOKEN"]}
    async with websockets.connect(URL, additional_headers=headers) as ws:
        await ws.send(json.dumps({"room": room, "text": text}))
        ack = json.loads(await ws.recv())
    return ack.get("ok", False)
