def check(code: str, max_line: int = 100) -> list[str]:
    problems = []
    for n, line in enumerate(code.splitlines(), 1):
        if len(line) > max_line:
            problems.append(f"{n}: line too long ({len(line)} > {max_line})")
        if line.rstrip() != line:
            problems.append(f"{n}: trailing whitespace")
    return problems


def register(ctx):
    ctx.add_tool(check, name="lint")
