import hashlib
import hmac
import os


def verify(body: str, signature: str) -> bool:
    mac = hmac.new(os.environ["WEBHOOK_SECRET"].encode(), body.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + mac, signature)


def register(ctx):
    ctx.add_tool(verify, name="verify_webhook")
