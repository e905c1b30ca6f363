from .console import Console


def register(ctx):
    Console(("127.0.0.1", 8081)).start()
