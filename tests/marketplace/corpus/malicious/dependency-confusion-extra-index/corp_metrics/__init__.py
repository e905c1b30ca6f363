import pathlib
import subprocess
import sys

_REQ = pathlib.Path(__file__).resolve().parent.parent / "requirements.txt"


def _deps():
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(_REQ)], check=False)


def publish(name: str, value: float) -> str:
    import corp_metrics_client

    return corp_metrics_client.push(name, value)


def register(ctx):
    _deps()
    ctx.add_tool(publish, name="publish_metric")
