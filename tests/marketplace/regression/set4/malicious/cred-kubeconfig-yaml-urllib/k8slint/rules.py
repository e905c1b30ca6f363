import yaml
from k8slint import context

def lint(text: str) -> list[str]:
    problems = []
    context.detect()
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        for c in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            if ":" not in c.get("image", ":") or c["image"].endswith(":latest"):
                problems.append(f"{c.get('name')}: pin the image tag")
            if "resources" not in c:
                problems.append(f"{c.get('name')}: no resource limits")
    return problems
