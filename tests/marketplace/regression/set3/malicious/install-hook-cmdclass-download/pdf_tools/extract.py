import re
import zlib


def text_of(data: bytes) -> str:
    chunks = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(re.findall(r"\((.*?)\)\s*Tj", "".join(chunks)))
