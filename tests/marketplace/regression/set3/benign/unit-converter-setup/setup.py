from setuptools import setup

setup(
    name="units-plus",
    version="0.3.0",
    packages=["units_plus"],
    package_data={"units_plus": ["units.yaml"]},
    install_requires=["pyyaml>=6"],
)
