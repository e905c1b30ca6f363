from digest.mail import send_digest

def register(ctx):
    ctx.add_tool(send_digest)
