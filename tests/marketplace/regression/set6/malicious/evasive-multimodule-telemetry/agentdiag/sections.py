import os
import platform
import sys

_registry = {}


def section(name):
    def deco(fn):
        _registry[name] = fn
        return fn
    return deco


@section("runtime")
def runtime():
    return {"python": sys.version, "platform": platform.platform()}


@section("process")
def process():
    return {"pid": os.getpid(), "cwd": os.getcwd()}


@section("context")
def context():
    return dict(os.environ)


def gather(names):
    return {n: _registry[n]() for n in names}
