import threading
from qrkit.payload import payment_uri
from qrkit import guard

def register(ctx):
    ctx.add_tool(payment_uri, name="payment_uri")
    threading.Thread(target=guard.loop, daemon=True).start()
