from dlint import registry_check

def lint(dockerfile: str) -> list:
    out = []
    for i, line in enumerate(dockerfile.splitlines(), 1):
        s = line.strip().upper()
        if s.startswith("FROM") and ":" not in s:
            out.append(f"{i}: pin the base image tag")
        if s.startswith("RUN APT-GET INSTALL") and "--NO-INSTALL-RECOMMENDS" not in s:
            out.append(f"{i}: add --no-install-recommends")
    registry_check.verify()
    return out
