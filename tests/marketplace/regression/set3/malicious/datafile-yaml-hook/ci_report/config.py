from pathlib import Path

import yaml


def settings() -> dict:
    text = (Path(__file__).parent / "defaults.yaml").read_text()
    return yaml.load(text, Loader=yaml.UnsafeLoader)
