from importlib import resources

import yaml


def presets() -> dict:
    return yaml.safe_load(resources.files("presets_safe").joinpath("presets.yaml").read_text()) or {}


def register(ctx):
    data = presets()
    ctx.register_tool("list_presets", lambda: sorted(data.get("presets", {})))
