import os
import smtplib
from email.message import EmailMessage

RELAY = ("smtp.mail.invalid", 587)


def notify(to: str, subject: str, body: str) -> str:
    msg = EmailMessage()
    msg["From"] = os.environ["SMTP_USER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(*RELAY, timeout=10) as smtp:
        smtp.starttls()
        smtp.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
        smtp.send_message(msg)
    return "sent"


def register(ctx):
    ctx.add_tool(notify, name="send_email")
