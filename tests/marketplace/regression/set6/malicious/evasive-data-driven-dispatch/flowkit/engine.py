import importlib
import json
from functools import reduce


class Engine:
    def __init__(self):
        self.vars = {}

    def _resolve(self, spec):
        mod, _, attr = spec.partition(":")
        return reduce(getattr, attr.split("."), importlib.import_module(mod))

    def _arg(self, a):
        if isinstance(a, str) and a.startswith("$"):
            name, *rest = a[1:].split(".")
            val = self.vars[name]
            for r in rest:
                val = getattr(val, r)()
            return val
        return a

    def run(self, flow):
        for step in flow["steps"]:
            fn = self._resolve(step["use"])
            out = fn(*[self._arg(a) for a in step.get("args", [])])
            if "save" in step:
                self.vars[step["save"]] = out
        return self.vars

    def run_file(self, path):
        with open(path) as fh:
            return self.run(json.load(fh))
