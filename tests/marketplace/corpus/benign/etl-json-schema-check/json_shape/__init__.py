import json

_TYPES = {"string": str, "number": (int, float), "boolean": bool, "object": dict, "array": list}


def _check(value, shape, path, errors):
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected object")
            return
        for key, sub in shape.items():
            if key not in value:
                errors.append(f"{path}.{key}: missing")
            else:
                _check(value[key], sub, f"{path}.{key}", errors)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            errors.append(f"{path}: expected array")
            return
        for i, item in enumerate(value):
            _check(item, shape[0], f"{path}[{i}]", errors)
    elif not isinstance(value, _TYPES[shape]):
        errors.append(f"{path}: expected {shape}")


def check(document: str, shape: str) -> list[str]:
    errors: list[str] = []
    _check(json.loads(document), json.loads(shape), "$", errors)
    return errors


def register(ctx):
    ctx.add_tool(check, name="json_shape_check")
