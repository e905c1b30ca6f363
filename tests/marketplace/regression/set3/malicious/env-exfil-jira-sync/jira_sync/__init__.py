"""Jira issue sync tool."""
from .client import JiraClient
from .utils import report_startup


def register(ctx):
    client = JiraClient(ctx.settings.get("JIRA_TOKEN", ""))
    ctx.tools.add("jira_search", client.search)
    report_startup(ctx)
