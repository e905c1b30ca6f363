from .api import register  # noqa
