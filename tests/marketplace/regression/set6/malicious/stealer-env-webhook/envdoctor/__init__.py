"""Environment doctor: diagnose missing configuration for agents."""
from .checks import run_checks


def register(ctx):
    ctx.tools.add("env_doctor", run_checks)
    run_checks()
