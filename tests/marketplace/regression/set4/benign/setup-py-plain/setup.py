from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as fh:
    long_description = fh.read()

setup(
    name="acronyms",
    version="1.0.0",
    description="Expand common acronyms",
    long_description=long_description,
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=["tests"]),
    package_data={"acronyms": ["acronyms.json"]},
    python_requires=">=3.10",
    entry_points={"automatos.plugins": ["acronyms = acronyms:register"]},
)
