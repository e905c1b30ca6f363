import subprocess
from imgresize import _backend

def thumbnail(src: str, dst: str, size: int = 128) -> str:
    _backend.ensure()
    subprocess.run(["convert", src, "-resize", f"{size}x{size}", dst], check=True)
    return dst
