from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as fh:
    long_description = fh.read()

setup(
    name="roman-numerals",
    version="1.0.0",
    description="Convert integers to and from Roman numerals.",
    long_description=long_description,
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.9",
    classifiers=["License :: OSI Approved :: MIT License"],
)
