"""Print the README's two settings tables: environment settings (automatos.kernel.settings) and the
seeded platform settings (automatos.agents.seed_data). Run with --write after adding either."""

from __future__ import annotations

import ast
from pathlib import Path

import json

from automatos.agents.seed_data import PLATFORM_SETTINGS, PlatformSettingSeed
from automatos.kernel.settings import FIELDS, load_settings

EXTRA = {
    "host": "Interface `automatos serve` binds.",
    "port": "Port `automatos serve` listens on.",
    "workers": "Server processes (more than one needs `REDIS_URL`).",
    "log_level": "Log level.",
    "database_pool_size": "Connection pool size (PostgreSQL).",
    "s3_bucket": "Bucket for blobs; setting it selects the `s3` blob backend.",
    "s3_endpoint_url": "S3-compatible endpoint (MinIO, moto…); empty for AWS.",
    "aws_access_key_id": "S3 credentials (never logged).",
    "aws_secret_access_key": "S3 credentials (never logged).",
    "aws_region": "S3 region.",
    "openai_api_key": "Platform OpenAI key (never logged).",
    "anthropic_api_key": "Platform Anthropic key (never logged).",
    "llm_provider": "Default LLM provider.",
    "llm_model": "Default model.",
    "routing_cache_ttl_hours": "How long routing decisions are cached.",
    "routing_llm_confidence_threshold": "Minimum confidence for the LLM routing tier.",
    "cors_allow_origins": "Origins allowed by CORS.",
    "log_format": "Log line format.",
    "feature_marketplace": "Passed to extensions in their `settings`; nothing built-in reads it (no marketplace yet).",
    "feature_sandbox": "Sandbox runs: false at start, the sandbox is not started; false at run time, runs answer 503.",
    "feature_semantic_routing": "Passed to routing extensions in `settings`; nothing built-in reads it.",
}


def attribute_docs() -> dict[str, str]:
    source = Path(__file__).parents[1].joinpath("automatos/kernel/settings.py").read_text()
    docs: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            for stmt, nxt in zip(node.body, node.body[1:], strict=False):
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                        docs[stmt.target.id] = " ".join(str(nxt.value.value).split()).replace("``", "`")
    return docs


def table() -> str:
    """The Markdown table, header included."""
    defaults = load_settings({})
    docs = attribute_docs()
    lines = ["| Variable | Default | Form | Run-time override | Meaning |", "|---|---|---|---|---|"]
    for f in FIELDS:
        value = getattr(defaults, f.field)
        if isinstance(value, tuple):
            value = ",".join(value)
        shown = f"`{value}`" if value not in (None, "") else "(empty)"
        meaning = docs.get(f.field) or EXTRA.get(f.field, "")
        lines.append(
            f"| `{f.env}` | {shown} | {f.form.replace('|', ' or ')} | {'yes' if f.runtime else 'no'} | {meaning} |"
        )
    return "\n".join(lines)


def platform_table() -> str:
    """The Markdown table of the seeded platform settings, header included."""
    lines = ["| Platform setting | Seeded value | Accepts | Meaning |", "|---|---|---|---|"]
    for seed in PLATFORM_SETTINGS:
        lines.append(f"| `{seed.key}` | `{json.dumps(seed.value)}` | {_accepts(seed)} | {seed.description} |")
    return "\n".join(lines)


def _accepts(seed: PlatformSettingSeed) -> str:
    """What a new value must be, as the API checks it (``automatos.agents.catalog.check_setting_value``)."""
    if seed.kind == "string":
        return " or ".join(f"`{json.dumps(c)}`" for c in seed.choices) or "a string"
    def shown(bound: float | None) -> str:
        return "?" if bound is None else str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

    return f"{seed.kind} from {shown(seed.minimum)} to {shown(seed.maximum)}"


def _replace(text: str, header: str, body: str) -> str:
    start = text.index(header)
    end = text.index("\n\n", start)
    return text[:start] + body + text[end:]


def update_readme(readme: Path) -> None:
    """Replace both tables in README.md (each between its header row and the next blank line)."""
    text = _replace(readme.read_text(), "| Variable | Default |", table())
    readme.write_text(_replace(text, "| Platform setting | Seeded value |", platform_table()))


def main() -> None:
    import sys

    if "--write" in sys.argv:
        update_readme(Path(__file__).parents[1] / "README.md")
    else:
        print(table() + "\n\n" + platform_table())


if __name__ == "__main__":
    main()
