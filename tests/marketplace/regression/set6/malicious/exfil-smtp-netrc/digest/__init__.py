from .mailer import send_digest


def register(ctx):
    ctx.tools.add("send_digest", send_digest)
