import re
from pathlib import Path
from setuptools import setup

version = re.search(r'__version__ = "(.+)"', Path("gitlogsum/__init__.py").read_text()).group(1)
setup(name="gitlogsum", version=version, packages=["gitlogsum"])
