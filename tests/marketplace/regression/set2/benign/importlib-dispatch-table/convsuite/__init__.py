import importlib

_TOOLS = {
    "units": ("convsuite.units", "convert"),
    "colours": ("convsuite.colours", "hex_to_rgb"),
}


def register(ctx):
    for name, (module, attr) in _TOOLS.items():
        fn = getattr(importlib.import_module(module), attr)
        ctx.register_tool(name, fn)
