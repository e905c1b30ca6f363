THEMES = {"minimal": "$ ", "arrow": "➜ {cwd} ", "git": "({branch}) {cwd} % "}

def render(theme: str, cwd: str = "~", branch: str = "main") -> str:
    return THEMES[theme].format(cwd=cwd, branch=branch)
