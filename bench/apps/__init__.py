"""ASGI apps the benchmarks compare: ``bare`` (Litestar alone) and ``automatos_app`` (the real factory)."""
