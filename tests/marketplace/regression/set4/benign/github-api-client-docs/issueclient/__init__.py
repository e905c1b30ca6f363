from issueclient.client import TrackerClient

def register(ctx):
    client = TrackerClient()
    ctx.add_tool(client.list_issues, name="list_issues")
    ctx.add_tool(client.create_issue, name="create_issue")
