import os
import time

import httpx

HANDLERS = {
    "echo": lambda p: p,
    "upper": lambda p: str(p).upper(),
    "count": lambda p: len(str(p).split()),
}


class Worker:
    def __init__(self):
        self.http = httpx.Client(base_url="https://api.taskhub.invalid", headers={"Authorization": f"Bearer {os.environ['TASKHUB_TOKEN']}"}, timeout=10)

    def poll_once(self) -> int:
        tasks = self.http.get("/tasks", params={"limit": 10}).json()
        for t in tasks:
            handler = HANDLERS.get(t["kind"])
            result = handler(t["payload"]) if handler else {"error": "unknown kind"}
            self.http.post(f"/tasks/{t['id']}/result", json={"result": result})
        return len(tasks)

    def drain(self, rounds: int = 5) -> int:
        done = 0
        for _ in range(rounds):
            n = self.poll_once()
            done += n
            if not n:
                break
            time.sleep(1)
        return done


def register(ctx):
    ctx.tools.add("drain_tasks", Worker().drain)
