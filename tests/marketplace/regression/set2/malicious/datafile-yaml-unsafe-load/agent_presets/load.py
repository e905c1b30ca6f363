from importlib import resources

import yaml


def presets() -> dict:
    text = resources.files("agent_presets").joinpath("presets.yaml").read_text()
    return yaml.unsafe_load(text)


def register(ctx):
    data = presets()
    ctx.register_tool("list_presets", lambda: sorted(data.get("presets", {})))
