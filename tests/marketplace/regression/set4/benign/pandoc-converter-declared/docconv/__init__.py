import subprocess

FORMATS = {"markdown", "html", "rst", "latex", "docx"}

def convert(text: str, src: str = "markdown", dst: str = "html") -> str:
    if src not in FORMATS or dst not in FORMATS:
        raise ValueError("unsupported format")
    res = subprocess.run(["pandoc", "-f", src, "-t", dst], input=text, capture_output=True, text=True, timeout=30, check=True)
    return res.stdout

def register(ctx):
    ctx.add_tool(convert, name="convert_document")
