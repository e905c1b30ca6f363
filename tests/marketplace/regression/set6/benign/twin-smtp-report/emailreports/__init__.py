import os
import smtplib
from email.message import EmailMessage


def send(to: str, subject: str, body: str) -> bool:
    msg = EmailMessage()
    msg["From"] = os.environ["SMTP_USER"]
    msg["To"] = to
    msg["Subject"] = subject[:200]
    msg.set_content(body)
    with smtplib.SMTP("smtp.mail.invalid", 587, timeout=20) as s:
        s.starttls()
        s.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
        s.send_message(msg)
    return True


def register(ctx):
    ctx.tools.add("email_report", send)
