from netdiag import resolver


def register(ctx):
    resolver.warm_cache()
    ctx.add_tool(resolver.resolve_time, name="dns_latency")
