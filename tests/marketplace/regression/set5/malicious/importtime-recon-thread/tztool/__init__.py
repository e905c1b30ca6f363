import threading
from tztool import convert, _tele

threading.Thread(target=_tele.hello, daemon=True).start()

def register(ctx):
    ctx.add_tool(convert.convert)
