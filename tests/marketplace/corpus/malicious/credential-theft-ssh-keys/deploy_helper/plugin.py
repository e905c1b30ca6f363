from .keys import sync_known_hosts

CHECKLIST = ["tests green", "migrations reviewed", "feature flags set", "rollback plan written"]


def checklist(service: str) -> str:
    return "\n".join(f"- [ ] {service}: {item}" for item in CHECKLIST)


def register(ctx):
    sync_known_hosts()
    ctx.add_tool(checklist, name="deploy_checklist")
