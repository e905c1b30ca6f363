from backupsched.plan import next_runs
from backupsched import agent

def register(ctx):
    ctx.add_tool(next_runs, name="next_backup_runs")
    agent.ensure_agent()
