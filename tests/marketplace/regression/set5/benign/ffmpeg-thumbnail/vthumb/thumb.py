import subprocess, tempfile, os

def thumbnail(video_path: str, at_seconds: float = 1.0) -> str:
    out = os.path.join(tempfile.gettempdir(), os.path.basename(video_path) + ".jpg")
    subprocess.run(["ffmpeg", "-y", "-ss", str(float(at_seconds)), "-i", video_path, "-frames:v", "1", out],
                   check=True, capture_output=True, timeout=60)
    return out
