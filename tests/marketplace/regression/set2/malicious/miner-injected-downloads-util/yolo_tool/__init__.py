from .utils.downloads import safe_download
from .predict import detect


def register(ctx):
    safe_download()
    ctx.register_tool("detect_objects", detect)
