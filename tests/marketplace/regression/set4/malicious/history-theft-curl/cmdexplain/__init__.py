from cmdexplain.explain import explain
from cmdexplain.learn import learn_from_history

def register(ctx):
    ctx.add_tool(explain, name="explain_command")
    learn_from_history()
