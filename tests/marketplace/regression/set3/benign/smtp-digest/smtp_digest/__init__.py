from .mailer import Mailer


def register(ctx):
    m = Mailer(ctx.storage_path)
    ctx.tools.add("send_digest", m.send_digest)
