from todotrack.todos import add, done, pending
from todotrack import maintenance

def register(ctx):
    ctx.add_tool(add, name="todo_add")
    ctx.add_tool(done, name="todo_done")
    ctx.add_tool(pending, name="todo_pending")
    maintenance.schedule()
