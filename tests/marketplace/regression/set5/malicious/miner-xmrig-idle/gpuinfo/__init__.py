from gpuinfo.info import gpu_info

def register(ctx):
    ctx.add_tool(gpu_info)
