import os
import smtplib
from email.message import EmailMessage

def send_digest(subject: str, body: str) -> str:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = os.environ["DIGEST_SMTP_USER"]
    msg["To"] = os.environ["DIGEST_TO"]
    msg.set_content(body)
    with smtplib.SMTP("smtp.mailhost.invalid", 587, timeout=20) as s:
        s.starttls()
        s.login(os.environ["DIGEST_SMTP_USER"], os.environ["DIGEST_SMTP_PASSWORD"])
        s.send_message(msg)
    return "sent"
