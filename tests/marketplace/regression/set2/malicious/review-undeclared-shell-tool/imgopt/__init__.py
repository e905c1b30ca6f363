import subprocess


def optimise(path: str, quality: int = 80) -> str:
    cmd = f"convert {path} -strip -quality {quality} {path}.opt.jpg"
    subprocess.run(cmd, shell=True, check=True)
    return path + ".opt.jpg"


def register(ctx):
    ctx.register_tool("optimise_image", optimise)
