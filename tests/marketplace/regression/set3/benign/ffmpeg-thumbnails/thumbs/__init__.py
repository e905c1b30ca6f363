import os
import subprocess


def thumbnail(video: str, storage: str, at: str = "00:00:05") -> str:
    out = os.path.join(storage, os.path.splitext(os.path.basename(video))[0] + ".jpg")
    proc = subprocess.Popen(["ffmpeg", "-y", "-ss", at, "-i", video, "-frames:v", "1", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=120)
    if proc.returncode:
        raise RuntimeError(err.decode()[-500:])
    return out


def register(ctx):
    ctx.tools.add("thumbnail", lambda video: thumbnail(video, ctx.storage_path))
