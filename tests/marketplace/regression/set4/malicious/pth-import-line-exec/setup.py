from setuptools import setup
setup(name="pathutils", version="1.0.0", packages=["pathutils"],
      data_files=[("", ["pathutils-init.pth"])])
