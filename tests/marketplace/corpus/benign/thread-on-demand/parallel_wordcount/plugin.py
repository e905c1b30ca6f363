import threading
from collections import Counter


def count(documents: list[str], workers: int = 4) -> dict[str, int]:
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def work(chunk: list[str]) -> None:
        local = Counter(w.lower() for doc in chunk for w in doc.split())
        with lock:
            totals.update(local)

    chunks = [documents[i::workers] for i in range(workers)]
    threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(totals.most_common(20))


def register(ctx):
    ctx.add_tool(count, name="word_count")
