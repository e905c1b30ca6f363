import re
from concurrent.futures import ThreadPoolExecutor

def _summary(text: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(sentences[:2])

def summarise_all(docs: list) -> list:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(_summary, docs))
