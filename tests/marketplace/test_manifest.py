"""``plugin.toml`` (issue 11 item 1): the complete example parses, every field is bounded, and a bad
manifest is answered with its TOML line and field path."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from automatos.marketplace.bundle import load_bundle
from automatos.marketplace.manifest import Manifest, ManifestError, line_of, normalise_slug, parse_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"

COMPLETE = """\
name = "Weather Tools"
version = "1.2.0"
entry = "weather_tools"
description = "Forecasts for the agents of a workspace."
author = "Ada Example"
email = "ada@example.invalid"
license = "Apache-2.0"
homepage = "https://weather.example.invalid"
category = "analytics"
dependencies = ["httpx>=0.27,<1", "python-dateutil"]

[permissions]
network = ["api.weather.invalid", "*.tiles.invalid"]
env = ["WEATHER_API_KEY"]
filesystem = ["storage"]
subprocess = []

[provides]
tools = ["tools/forecast.toml"]
skills = ["skills/forecast.md"]
prompts = ["prompts/forecast.md"]
agent_templates = []
commands = []
routing_rules = []
"""


def test_the_complete_manifest_parses() -> None:
    manifest = parse_manifest(COMPLETE)
    assert isinstance(manifest, Manifest)
    assert (manifest.name, manifest.slug, manifest.version, manifest.entry) == (
        "Weather Tools",
        "weather-tools",
        "1.2.0",
        "weather_tools",
    )
    assert manifest.permissions.network == ["api.weather.invalid", "*.tiles.invalid"]
    assert manifest.permissions.filesystem == ["storage"]
    assert manifest.provides.paths()[0] == ("tools", 0, "tools/forecast.toml")
    assert manifest.entry_files() == ("weather_tools.py", "weather_tools/__init__.py")
    assert manifest.to_data()["slug"] == "weather-tools"


def test_the_documented_example_is_a_valid_manifest() -> None:
    text = EXAMPLE.read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    manifest = parse_manifest(block)
    assert manifest.permissions.network and manifest.provides.skills


def test_the_minimal_manifest_fills_in_defaults() -> None:
    manifest = parse_manifest('name = "Hello"\nversion = "0.1.0"\nentry = "hello"\n')
    assert manifest.slug == "hello"
    assert manifest.dependencies == [] and manifest.permissions.network == []


@pytest.mark.parametrize(
    ("name", "slug"), [("Weather Tools", "weather-tools"), ("My__Plugin.v2", "my-plugin-v2"), ("  Émoji ✓ ", "moji")]
)
def test_the_slug_is_the_normalised_name(name: str, slug: str) -> None:
    assert normalise_slug(name) == slug


@pytest.mark.parametrize(
    ("text", "line", "field", "says"),
    [
        (COMPLETE.replace('"*.tiles.invalid"', '"Bad Host!"'), 13, "permissions.network[1]", "expected a host name"),
        (COMPLETE.replace('version = "1.2.0"', 'version = "v1"'), 2, "version", "PEP 440"),
        (COMPLETE.replace('version = "1.2.0"', "version = 1"), 2, "version", "expected `str`, got `int`"),
        (COMPLETE.replace('"storage"]', '"/etc"]'), 15, "permissions.filesystem[0]", "storage"),
        (COMPLETE.replace('env = ["WEATHER_API_KEY"]', 'env = ["A-B"]'), 14, "permissions.env[0]", "variable name"),
        (COMPLETE.replace("subprocess = []", 'subprocess = ["/bin/sh"]'), 16, "permissions.subprocess[0]", "no path"),
        (COMPLETE.replace('"tools/forecast.toml"', '"../../etc/passwd"'), 19, "provides.tools[0]", "relative path"),
        (COMPLETE.replace('"python-dateutil"', '"evil @ https://x.invalid/e.whl"'), 10, "dependencies[1]", "PEP 508"),
        (COMPLETE.replace('entry = "weather_tools"', 'entry = "weather-tools"'), 3, "entry", "dotted module"),
        (COMPLETE.replace('email = "ada@example.invalid"', 'email = "ada"'), 6, "email", "e-mail"),
        (COMPLETE.replace("subprocess = []", "subprocess = []\nsockets = true"), 17, "permissions.sockets", "unknown"),
        (COMPLETE + "extra = 1\n", 25, "provides.extra", "unknown field"),
        (COMPLETE.replace('entry = "weather_tools"\n', ""), 1, "entry", "required field is missing"),
        (COMPLETE.replace('name = "Weather Tools"', 'name = ""'), 1, "name", "length >= 1"),
        ('name = "!!!"\nversion = "1.0"\nentry = "x"\n', 1, "name", "no slug"),
    ],
)
def test_a_bad_manifest_names_its_line_and_field(text: str, line: int, field: str, says: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text)
    error = caught.value
    assert error.detail.startswith(f"plugin.toml line {line}: {field}: "), error.detail
    assert says in error.detail
    assert (error.line, error.field_path, error.field) == (line, field, field)
    assert error.status_code == 422


def test_a_multi_line_array_names_the_line_of_the_item() -> None:
    text = COMPLETE.replace(
        'network = ["api.weather.invalid", "*.tiles.invalid"]',
        'network = [\n  "api.weather.invalid",\n  "NOT A HOST",\n]',
    )
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text)
    assert caught.value.detail.startswith("plugin.toml line 15: permissions.network[1]: expected a host name")


def test_invalid_toml_names_its_line() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest('name = "x"\nversion = "1.0"\nentry = \n')
    assert caught.value.detail.startswith("plugin.toml line 3: invalid TOML")


def test_too_many_items_are_refused() -> None:
    hosts = ", ".join(f'"h{i}.invalid"' for i in range(51))
    with pytest.raises(ManifestError) as caught:
        parse_manifest(COMPLETE.replace('network = ["api.weather.invalid", "*.tiles.invalid"]', f"network = [{hosts}]"))
    assert "permissions.network" in caught.value.detail and "length <= 50" in caught.value.detail


def test_line_of_finds_dotted_keys_and_tables() -> None:
    text = 'name = "x"\npermissions.env = ["A"]\n\n[provides]\nskills = ["a.md"]\n'
    assert line_of(text, ["permissions", "env", 0]) == 2
    assert line_of(text, ["provides", "skills", 0]) == 5
    assert line_of(text, ["provides", "tools"]) == 4
    assert line_of(text, ["nowhere"]) == 1


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_entry_module_must_be_in_the_bundle() -> None:
    with pytest.raises(ManifestError) as caught:
        load_bundle(_zip({"plugin.toml": COMPLETE.encode(), "other.py": b""}))
    error = caught.value
    assert error.detail.startswith("plugin.toml line 3: entry: module weather_tools is not in the bundle")
    assert error.extra["rule"] == "manifest.entry"


def test_every_provided_path_must_be_in_the_bundle() -> None:
    files = {
        "plugin.toml": COMPLETE.encode(),
        "weather_tools/__init__.py": b"def register(ctx):\n    return None\n",
        "tools/forecast.toml": b"",
        "skills/forecast.md": b"# Forecast\n",
    }
    with pytest.raises(ManifestError) as caught:
        load_bundle(_zip(files))
    assert caught.value.detail == "plugin.toml line 21: provides.prompts[0]: prompts/forecast.md is not in the bundle"
    files["prompts/forecast.md"] = b"Give the forecast.\n"
    bundle = load_bundle(_zip(files))
    assert bundle.slug == "weather-tools"
    assert bundle.manifest_data["permissions"]["env"] == ["WEATHER_API_KEY"]
    target = bundle.target()
    assert (target.entry, target.permissions()["network"][0]) == ("weather_tools", "api.weather.invalid")
    assert set(target.files) == set(files)


def test_a_manifest_that_is_not_utf8_names_its_line() -> None:
    with pytest.raises(ManifestError) as caught:
        load_bundle(_zip({"plugin.toml": b'name = "x"\nauthor = "\xff"\n'}))
    assert caught.value.detail.startswith("plugin.toml line 2: the file is not UTF-8")
