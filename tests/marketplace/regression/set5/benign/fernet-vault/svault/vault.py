import os
from pathlib import Path
from cryptography.fernet import Fernet

class Vault:
    def __init__(self, root):
        self.root = Path(root) / "vault"
        self.root.mkdir(parents=True, exist_ok=True)
        self.f = Fernet(os.environ["VAULT_KEY"])

    def store(self, name: str, text: str) -> str:
        (self.root / f"{name}.bin").write_bytes(self.f.encrypt(text.encode()))
        return name

    def load(self, name: str) -> str:
        return self.f.decrypt((self.root / f"{name}.bin").read_bytes()).decode()
