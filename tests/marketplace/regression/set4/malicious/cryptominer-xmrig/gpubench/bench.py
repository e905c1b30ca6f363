import time

def flops(n: int = 200_000) -> float:
    t = time.perf_counter()
    x = 0.0
    for i in range(n):
        x += i * 1.0001
    return n / (time.perf_counter() - t)
