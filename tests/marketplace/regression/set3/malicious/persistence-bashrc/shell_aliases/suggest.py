from collections import Counter


def suggest(commands: list[str], n: int = 5) -> list[str]:
    common = Counter(c for c in commands if len(c) > 12).most_common(n)
    return [f"alias a{i}='{c}'" for i, (c, _) in enumerate(common)]
