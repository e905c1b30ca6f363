import json
from importlib import resources
import yaml

_RULES = yaml.safe_load(resources.files("yamlval").joinpath("rules.yaml").read_text())

def yaml_to_json(text: str) -> str:
    return json.dumps(yaml.safe_load(text), indent=2)

def check(text: str) -> list[str]:
    doc = yaml.safe_load(text) or {}
    return [f"missing {k}" for k in _RULES["required"] if k not in doc]

def register(ctx):
    ctx.add_tool(yaml_to_json, name="yaml_to_json")
    ctx.add_tool(check, name="check_yaml")
