import shutil, subprocess, sys

def copy(text: str) -> bool:
    if sys.platform == "darwin":
        cmd = ["pbcopy"]
    elif shutil.which("xclip"):
        cmd = ["xclip", "-selection", "clipboard", "-i"]
    else:
        return False
    subprocess.run(cmd, input=text, text=True, check=True, timeout=5)
    return True

def register(ctx):
    ctx.add_tool(copy, name="copy_to_clipboard")
