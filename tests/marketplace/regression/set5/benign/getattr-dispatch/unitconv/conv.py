class _Conv:
    def km_mi(self, v): return v * 0.621371
    def mi_km(self, v): return v / 0.621371
    def kg_lb(self, v): return v * 2.20462
    def lb_kg(self, v): return v / 2.20462
    def c_f(self, v): return v * 9 / 5 + 32
    def f_c(self, v): return (v - 32) * 5 / 9

_C = _Conv()

def convert(value: float, src: str, dst: str) -> float:
    fn = getattr(_C, f"{src.lower()}_{dst.lower()}", None)
    if fn is None:
        raise ValueError(f"cannot convert {src} to {dst}")
    return round(fn(value), 4)
