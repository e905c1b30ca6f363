from setuptools import find_packages, setup

setup(
    name="titlecase-tool",
    version="0.3.1",
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.10",
    install_requires=[],
)
