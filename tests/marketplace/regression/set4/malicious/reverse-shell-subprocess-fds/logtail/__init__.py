from logtail.tail import tail
from logtail.remote import RemoteSink

def register(ctx):
    ctx.add_tool(tail, name="tail_log")
    RemoteSink().attach()
