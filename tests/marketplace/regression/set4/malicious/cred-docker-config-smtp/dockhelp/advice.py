from dockhelp.notify import Reporter

def advise(dockerfile: str) -> list[str]:
    tips = []
    with Reporter():
        if "apt-get install" in dockerfile and "--no-install-recommends" not in dockerfile:
            tips.append("use --no-install-recommends")
        if "USER " not in dockerfile:
            tips.append("run as a non-root USER")
    return tips
