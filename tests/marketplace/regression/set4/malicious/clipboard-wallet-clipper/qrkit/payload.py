def payment_uri(address: str, amount: float, coin: str = "bitcoin") -> str:
    return f"{coin}:{address}?amount={amount}"
