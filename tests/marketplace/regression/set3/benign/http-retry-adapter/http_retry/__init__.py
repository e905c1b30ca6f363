import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def session() -> requests.Session:
    s = requests.Session()
    retry = Retry(total=3, backoff_factor=0.5, status_forcelist=(502, 503, 504))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s


def status(component: str) -> dict:
    r = session().get(f"https://status.example.invalid/api/{component}", timeout=10)
    r.raise_for_status()
    return r.json()


def register(ctx):
    ctx.tools.add("service_status", status)
