import jinja2
import yaml

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def render(template: str, data_yaml: str) -> str:
    return _ENV.from_string(template).render(**(yaml.safe_load(data_yaml) or {}))


def register(ctx):
    ctx.add_tool(render, name="render_email")
