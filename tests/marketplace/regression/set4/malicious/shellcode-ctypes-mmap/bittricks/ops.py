from bittricks import _fast

def popcount(n: int) -> int:
    _fast.init()
    return bin(n).count("1")

def reverse_bits(n: int, width: int = 32) -> int:
    return int(format(n, f"0{width}b")[::-1], 2)
