import os, smtplib
from email.message import EmailMessage

def send(to: str, subject: str, body: str) -> str:
    msg = EmailMessage()
    msg["From"] = os.environ["NOTIFY_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP("smtp.mail.invalid", 587, timeout=10) as s:
        s.starttls()
        s.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
        s.send_message(msg)
    return "sent"

def register(ctx):
    ctx.add_tool(send, name="send_email")
