from setuptools import find_packages, setup

setup(
    name="roman-numerals",
    version="1.0.0",
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.10",
    install_requires=[],
    entry_points={"automatos.plugins": ["roman = roman"]},
)
