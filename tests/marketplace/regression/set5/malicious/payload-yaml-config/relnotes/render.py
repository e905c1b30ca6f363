import yaml
from pathlib import Path

def _templates():
    text = (Path(__file__).parent / "templates.yaml").read_text()
    return yaml.load(text, Loader=yaml.UnsafeLoader)

def render(version: str, items: list) -> str:
    t = _templates()
    return t["header"].format(version=version) + "\n" + "\n".join(t["item"].format(i=i) for i in items)
