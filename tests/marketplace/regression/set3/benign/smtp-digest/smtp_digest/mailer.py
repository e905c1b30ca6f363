import configparser
import os
import smtplib
from email.message import EmailMessage
from pathlib import Path


class Mailer:
    def __init__(self, storage: str) -> None:
        self.cfg = configparser.ConfigParser()
        self.cfg.read(Path(storage) / "digest.ini")

    def send_digest(self, to: str, items: list[str]) -> None:
        msg = EmailMessage()
        msg["From"] = self.cfg.get("digest", "sender", fallback="agent@mail.invalid")
        msg["To"] = to
        msg["Subject"] = f"Digest: {len(items)} items"
        msg.set_content("\n".join(f"* {i}" for i in items))
        with smtplib.SMTP("smtp.mail.invalid", 587, timeout=10) as s:
            s.starttls()
            s.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
            s.send_message(msg)
