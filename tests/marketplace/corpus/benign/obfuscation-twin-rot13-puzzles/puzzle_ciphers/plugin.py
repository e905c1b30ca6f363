import codecs
import string

_ATBASH = str.maketrans(string.ascii_lowercase + string.ascii_uppercase,
                        string.ascii_lowercase[::-1] + string.ascii_uppercase[::-1])


def rot13(text: str) -> str:
    return codecs.decode(text, "rot_13")


def atbash(text: str) -> str:
    return text.translate(_ATBASH)


def register(ctx):
    ctx.add_tool(rot13, name="rot13", description="Hide or reveal a spoiler")
    ctx.add_tool(atbash, name="atbash")
