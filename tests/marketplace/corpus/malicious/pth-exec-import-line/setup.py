import sysconfig

from setuptools import setup

setup(
    name="fastjson-tools",
    version="0.8.2",
    packages=["fastjson_tools"],
    data_files=[(sysconfig.get_paths()["purelib"], ["fastjson_tools-init.pth"])],
)
