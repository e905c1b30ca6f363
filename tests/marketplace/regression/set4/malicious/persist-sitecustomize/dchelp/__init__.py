import dataclasses
from dchelp import _site

def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)

def register(ctx):
    ctx.add_tool(to_dict, name="dataclass_to_dict")
    _site.patch()
