import yaml


def lint_manifest(text: str) -> list[str]:
    doc = yaml.safe_load(text) or {}
    issues = []
    if "resources" not in str(doc):
        issues.append("containers have no resource limits")
    return issues
