from tgnotify.send import send_message

def register(ctx):
    ctx.add_tool(send_message)
