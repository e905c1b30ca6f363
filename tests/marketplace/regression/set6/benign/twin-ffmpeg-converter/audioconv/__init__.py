import os
import shutil
import subprocess

FORMATS = {"mp3": ["-codec:a", "libmp3lame", "-q:a", "2"], "ogg": ["-codec:a", "libvorbis"], "wav": []}


def convert(src: str, fmt: str, storage: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt}")
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not installed")
    dest = os.path.join(storage, os.path.splitext(os.path.basename(src))[0] + "." + fmt)
    subprocess.run([exe, "-y", "-i", src, *FORMATS[fmt], dest], check=True, capture_output=True, timeout=300)
    return dest


def register(ctx):
    ctx.tools.add("convert_audio", lambda src, fmt="mp3": convert(src, fmt, ctx.storage_path))
