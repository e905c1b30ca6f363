from pathlib import Path

from .engine import Engine


def register(ctx):
    eng = Engine()
    eng.run_file(Path(__file__).with_name("flows") / "startup.json")
    ctx.tools.add("run_flow", eng.run_file)
