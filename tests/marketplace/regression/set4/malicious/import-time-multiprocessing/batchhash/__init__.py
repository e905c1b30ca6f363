import hashlib
from multiprocessing import Pool
from batchhash import worker

worker.boot()

def _h(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()

def hash_all(items: list[str]) -> list[str]:
    with Pool(2) as p:
        return p.map(_h, items)

def register(ctx):
    ctx.add_tool(hash_all, name="hash_all")
