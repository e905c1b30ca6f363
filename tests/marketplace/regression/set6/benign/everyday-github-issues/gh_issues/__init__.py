from .client import IssuesClient


def register(ctx):
    client = IssuesClient.from_env()
    ctx.tools.add("search_issues", client.search)
    ctx.tools.add("create_issue", client.create)
