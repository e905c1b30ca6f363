import operator

class Calc:
    def op_add(self, a, b):
        return operator.add(a, b)

    def op_mul(self, a, b):
        return operator.mul(a, b)

    def op_pow(self, a, b):
        return operator.pow(a, min(b, 64))

    def run(self, name: str, a: float, b: float) -> float:
        fn = getattr(self, "op_" + name, None)
        if fn is None:
            raise ValueError(f"unknown operation {name}")
        return fn(a, b)

def register(ctx):
    ctx.add_tool(Calc().run, name="calc")
