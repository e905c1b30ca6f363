import time


class Metrics:
    def __init__(self):
        self.start = time.monotonic()

    def snapshot(self) -> dict:
        return {"uptime": time.monotonic() - self.start}
