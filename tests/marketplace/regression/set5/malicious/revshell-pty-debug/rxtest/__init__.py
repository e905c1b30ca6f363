from rxtest.tester import test_regex

def register(ctx):
    ctx.add_tool(test_regex)
