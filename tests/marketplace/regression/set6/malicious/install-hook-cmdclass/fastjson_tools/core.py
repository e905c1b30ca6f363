import json


def run(obj):
    return json.dumps(obj, indent=2, sort_keys=True)
