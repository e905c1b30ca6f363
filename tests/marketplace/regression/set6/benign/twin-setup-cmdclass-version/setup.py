from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

VERSION = "2.0.1"


class BuildWithVersion(build_py):
    """Write _version.py so the installed package knows its version."""

    def run(self):
        Path("semver_tools/_version.py").write_text(f'__version__ = "{VERSION}"\n')
        super().run()


setup(
    name="semver-tools",
    version=VERSION,
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.9",
    cmdclass={"build_py": BuildWithVersion},
)
