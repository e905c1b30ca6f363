import importlib

FORMATS = {"csv": "file_formats.fmt_csv", "ini": "file_formats.fmt_ini"}


def parse(kind: str, text: str):
    module = importlib.import_module(FORMATS[kind])
    return module.parse(text)


def register(ctx):
    ctx.add_tool(parse, name="parse_text")
