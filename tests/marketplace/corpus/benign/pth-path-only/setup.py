from setuptools import setup

setup(name="vendored-helpers", version="0.1.0", packages=["vendored_helpers"])
