from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
                            autoescape=False, undefined=jinja2.StrictUndefined)


def render(kind: str = "summary", **values) -> str:
    return _ENV.get_template(kind + ".md.j2").render(**values)


def register(ctx):
    ctx.register_tool("render_report", render)
