import configparser
from importlib import resources

def _defaults() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read_string(resources.files("iniinspect").joinpath("defaults.ini").read_text())
    return cfg

def inspect_ini(text: str) -> dict:
    cfg = configparser.ConfigParser()
    cfg.read_string(text)
    return {s: sorted(cfg[s]) for s in cfg.sections()}

def defaults() -> dict:
    cfg = _defaults()
    return {s: dict(cfg[s]) for s in cfg.sections()}

def register(ctx):
    ctx.add_tool(inspect_ini, name="inspect_ini")
    ctx.add_tool(defaults, name="ini_defaults")
