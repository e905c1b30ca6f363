import os
import requests

def send_message(text: str) -> bool:
    token = os.environ["TELEGRAM_BOT_TOKEN"]
    r = requests.post(f"https://api.telegram.invalid/bot{token}/sendMessage",
                      data={"chat_id": os.environ["TELEGRAM_CHAT_ID"], "text": text[:4000]}, timeout=10)
    return r.ok
