from pathlib import Path
import yaml

def render(version: str, items: list) -> str:
    t = yaml.safe_load((Path(__file__).parent / "templates.yaml").read_text())
    return "\n".join([t["header"].format(version=version)] + [t["item"].format(i=i) for i in items])
