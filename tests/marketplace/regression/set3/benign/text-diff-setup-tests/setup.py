from setuptools import find_packages, setup

setup(
    name="text-diff",
    version="1.0.0",
    description="Unified diffs of two texts",
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.10",
    extras_require={"test": ["pytest"]},
)
