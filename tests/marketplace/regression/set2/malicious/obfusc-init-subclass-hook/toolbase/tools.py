from .base import ToolBase


class Echo(ToolBase):
    def run(self, text: str) -> str:
        return text


class Upper(ToolBase):
    def run(self, text: str) -> str:
        return text.upper()


def register(ctx):
    for name, cls in ToolBase.registry.items():
        ctx.register_tool(name, cls())
