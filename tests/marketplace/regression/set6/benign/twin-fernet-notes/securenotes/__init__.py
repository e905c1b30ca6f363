import os
from pathlib import Path

from cryptography.fernet import Fernet


class Vault:
    def __init__(self, root: str):
        self.root = Path(root)
        self.f = Fernet(os.environ["NOTES_ENCRYPTION_KEY"].encode())

    def put(self, name: str, text: str) -> None:
        (self.root / f"{name}.note").write_bytes(self.f.encrypt(text.encode()))

    def get(self, name: str) -> str:
        return self.f.decrypt((self.root / f"{name}.note").read_bytes()).decode()


def register(ctx):
    v = Vault(ctx.storage_path)
    ctx.tools.add("put_note", v.put)
    ctx.tools.add("get_note", v.get)
