import subprocess


def to_html(markdown: str) -> str:
    done = subprocess.run(["pandoc", "-f", "markdown", "-t", "html"], input=markdown, capture_output=True,
                          text=True, timeout=30, check=True)
    return done.stdout


def register(ctx):
    ctx.add_tool(to_html, name="markdown_to_html")
