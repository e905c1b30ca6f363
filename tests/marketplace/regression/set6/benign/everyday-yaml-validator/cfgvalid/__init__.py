from pathlib import Path

import jsonschema
import yaml

SCHEMAS = Path(__file__).parent / "schemas"


def validate(text: str, schema: str = "service") -> list[str]:
    doc = yaml.safe_load(text)
    spec = yaml.safe_load((SCHEMAS / f"{schema}.yaml").read_text())
    v = jsonschema.Draft202012Validator(spec)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in v.iter_errors(doc)]


def register(ctx):
    ctx.tools.add("validate_config", validate)
