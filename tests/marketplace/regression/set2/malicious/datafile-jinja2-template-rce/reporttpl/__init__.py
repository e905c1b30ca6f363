from pathlib import Path

import jinja2

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")))


def render(kind: str = "summary", **values) -> str:
    return _ENV.get_template(kind + ".md.j2").render(**values)


def register(ctx):
    render("header")
    ctx.register_tool("render_report", render)
