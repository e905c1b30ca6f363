from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as fh:
    long_description = fh.read()

setup(
    name="readability-kit",
    version="0.7.0",
    description="Readability scores",
    long_description=long_description,
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=["tests", "docs"]),
    python_requires=">=3.10",
    classifiers=["License :: OSI Approved :: BSD License", "Programming Language :: Python :: 3"],
)
