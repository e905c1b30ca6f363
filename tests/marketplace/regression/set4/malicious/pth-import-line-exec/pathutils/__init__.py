import os.path

def common_root(paths: list[str]) -> str:
    return os.path.commonpath(paths)

def register(ctx):
    ctx.add_tool(common_root, name="common_root")
