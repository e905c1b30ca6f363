"""``automatos plugin …``: write, package, scan, sign and verify marketplace plugin bundles.

Each command works on a plugin's source directory or its zip, with the marketplace package's own
functions (:mod:`automatos.marketplace.bundle`, :mod:`~automatos.marketplace.scan`,
:mod:`~automatos.marketplace.signing`), and reads the marketplace settings (limits, trusted keys,
the dependency allow-list) as the server does; a malformed setting stops the command naming it.

Exit status: 0 when the command did its work (``scan``: whatever the verdict), 1 when ``verify``
finds the signature invalid, 2 when the input cannot be read (a missing path, not a zip, an archive
refused by a limit or rule, a bad ``plugin.toml``), with one line on stderr naming the problem.
``scan --json`` prints exactly one JSON object on stdout; logs and warnings go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from automatos.cli.common import UsageExit, command_settings, data_settings, quiet, with_kernel

if TYPE_CHECKING:
    from automatos.kernel.scanning import ScanReport
    from automatos.marketplace.bundle import Bundle
    from automatos.marketplace.settings import MarketplaceSettings

__all__ = ["plugin"]

KEY_FILE = "automatos-plugin.key"
PUBLIC_FILE = "automatos-plugin.pub"


@click.group("plugin")
def plugin() -> None:
    """Marketplace plugins: scaffold, package, scan, sign and verify bundles."""


def _settings() -> MarketplaceSettings:
    from automatos.marketplace.settings import MarketplaceSettings

    return command_settings().group(MarketplaceSettings)


@contextmanager
def _unreadable(what: str) -> Iterator[None]:
    """Turn a refused or unreadable input into one line on stderr and exit status 2."""
    from automatos.kernel.errors import ValidationError

    try:
        yield
    except FileNotFoundError as exc:
        raise UsageExit(f"{what}: no such file or directory: {exc.filename or exc}") from None
    except (ValidationError, OSError, ValueError) as exc:
        raise UsageExit(f"{what}: {_one_line(str(exc))}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _load(source: Path, settings: MarketplaceSettings) -> Bundle:
    """The bundle at ``source`` (a directory or a zip), read within the deployment's limits. Its
    signature is checked against the trusted keys and reported as a finding, never refused here."""
    from automatos.marketplace.bundle import load_bundle, load_directory
    from automatos.marketplace.signing import signature_finding, verify

    if not source.exists():
        raise FileNotFoundError(2, "no such file or directory", str(source))
    limits = settings.archive_limits()
    bundle = load_directory(source, limits) if source.is_dir() else load_bundle(source, limits)
    bundle.signature = verify(bundle.files, settings.plugins_trusted_keys)
    bundle.findings[:] = [f for f in bundle.findings if f.rule != "signature"]
    finding = signature_finding(bundle.signature)
    if finding is not None:
        bundle.findings.append(finding)
    return bundle


# -- new, package ----------------------------------------------------------------------------------


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path), help="Where to write it (default: ./<slug>).")
def plugin_new(name: str, directory: Path | None) -> None:
    """Write a new plugin called NAME: plugin.toml, a package with register(ctx), a skill, tests."""
    from automatos.marketplace.manifest import normalise_slug
    from automatos.marketplace.scaffold import write_scaffold

    slug = normalise_slug(name)
    if not slug:
        raise UsageExit(f"plugin new: {name!r} has no letters or digits to make a slug of")
    target = directory if directory is not None else Path(slug)
    try:
        write_scaffold(name, target)
    except FileExistsError as exc:
        raise UsageExit(f"plugin new: {exc}") from None
    click.echo(f"created plugin {slug!r} in {target}")
    click.echo(f"next: automatos plugin scan {target}", err=True)


@plugin.command("package")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="The zip to write (default: ./<slug>-<version>.zip)."
)
def plugin_package(directory: Path, output: Path | None) -> None:
    """Make the deterministic zip of DIRECTORY and print its sha256 (same tree, same sha256)."""
    from automatos.marketplace.bundle import load_bundle, package_directory

    settings = _settings()
    with _unreadable("plugin package"):
        if not directory.is_dir():
            raise ValueError(f"{directory} is not a directory")
        data = package_directory(directory, settings.archive_limits())
        bundle = load_bundle(data, settings.archive_limits())  # the manifest and the paths it names
    target = output if output is not None else Path(f"{bundle.slug}-{bundle.version}.zip")
    target.write_bytes(data)
    click.echo(f"{bundle.sha256}  {target}")


# -- scan ----------------------------------------------------------------------------------------


@contextmanager
def _stdout_is_for_json(as_json: bool) -> Iterator[None]:
    """With ``--json``: stdout redirected to stderr, warnings and log records to stderr too."""
    if not as_json:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    added = not root.handlers
    if added:
        root.addHandler(handler)
    try:
        with quiet(True), warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        if added:
            root.removeHandler(handler)


def _as_json(report: ScanReport, sha256: str) -> dict[str, Any]:
    findings = [
        {"rule": f.rule, "severity": f.severity.value, "file": f.path, "line": f.line, "message": f.message}
        for f in report.findings
    ]
    return {"risk_score": report.risk_score, "verdict": report.verdict.value, "findings": findings, "sha256": sha256}


def _print_report(source: Path, bundle: Bundle, report: ScanReport) -> None:
    click.echo(f"{bundle.manifest.name} {bundle.version} ({source})")
    click.echo(f"sha256     {bundle.sha256}")
    click.echo(f"verdict    {report.verdict.value} (risk score {report.risk_score}/100)")
    if not report.findings:
        click.echo("findings   none")
        return
    click.echo(f"findings   {len(report.findings)}, heaviest first:")
    for f in report.findings:
        where = f"{f.path}:{f.line}" if f.line else (f.path or "-")
        notes = [n for n, on in (("unreachable", not f.reachable), ("declared", f.declared)) if on]
        extra = f" [{', '.join(notes)}]" if notes else ""
        click.echo(f"  {f.severity.value:<8} {f.rule:<24} {where}{extra}")
        click.echo(f"           {f.message}")


@plugin.command("scan")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@click.option("--llm", is_flag=True, help="Also ask the platform's LLM provider for a review (needs the database).")
@click.option("--init", is_flag=True, help="With --llm: create the embedded SQLite database if it does not exist.")
def plugin_scan(source: Path, as_json: bool, llm: bool, init: bool) -> None:
    """Scan SOURCE (a plugin directory or zip) as the marketplace does; exit 0 whatever the verdict.

    The static scan only, unless --llm.
    """
    from automatos.marketplace.scan import scan_bundle

    with _stdout_is_for_json(as_json):
        settings = _settings()
        with _unreadable("plugin scan"):
            bundle = _load(source, settings)
        report = scan_bundle(bundle, allowed_dependencies=settings.plugins_allowed_dependencies)
        if llm:
            report = _llm_review(bundle, report, settings, init)
    if as_json:
        click.echo(json.dumps(_as_json(report, bundle.sha256)))
    else:
        _print_report(source, bundle, report)


def _llm_review(bundle: Bundle, report: ScanReport, settings: MarketplaceSettings, init: bool) -> ScanReport:
    """The LLM review through the platform's configured provider (``LLM_PROVIDER``, and
    ``PLUGINS_REVIEW_MODEL`` or ``LLM_MODEL``), as the default workspace sees it."""
    from automatos.llm.providers import ProviderResolver
    from automatos.llm.settings import LLMSettings
    from automatos.marketplace.review import completion_from_providers, llm_review

    async def run(kernel: Any) -> ScanReport:
        llm_settings = kernel.current_settings.group(LLMSettings)
        workspace = await kernel.store.get_workspace("default")
        if workspace is None:
            raise click.ClickException("the LLM review needs the default workspace; run 'automatos seed' first")
        complete = completion_from_providers(
            ProviderResolver(kernel),
            workspace,
            provider=llm_settings.llm_provider,
            model=settings.plugins_review_model or llm_settings.llm_model,
        )
        outcome = await llm_review(bundle, report, complete=complete, budget=settings.plugins_review_token_budget)
        return outcome.report

    return with_kernel(run, data_settings(init))


# -- keygen, sign, verify --------------------------------------------------------------------------


@plugin.command("keygen")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("."), show_default=True)
def plugin_keygen(out: Path) -> None:
    """Make a publisher key pair: the private key (mode 0600) and the public key in OUT; print the
    public key (what a deployment lists in PLUGINS_TRUSTED_KEYS)."""
    from automatos.marketplace.signing import generate_key

    private_pem, public = generate_key()
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / KEY_FILE, out / PUBLIC_FILE
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageExit(f"plugin keygen: {private_path} already exists; it is not overwritten") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    os.chmod(private_path, 0o600)  # whatever the umask
    public_path.write_text(public + "\n", encoding="ascii")
    click.echo(f"private key: {private_path} (keep it secret); public key: {public_path}", err=True)
    click.echo(public)


@plugin.command("sign")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--key", "key", type=click.Path(path_type=Path), required=True, help="The private key file (keygen).")
def plugin_sign(directory: Path, key: Path) -> None:
    """Write DIRECTORY/SIGNATURE: the key's ed25519 signature over every file's path and sha256."""
    from automatos.marketplace.archive import read_dir
    from automatos.marketplace.signing import SIGNATURE_NAME, public_key_of, sign_files

    settings = _settings()
    with _unreadable("plugin sign"):
        if not directory.is_dir():
            raise ValueError(f"{directory} is not a directory")
        private_pem = key.read_bytes()
        public = public_key_of(private_pem)
        files = read_dir(directory, settings.archive_limits())
        content = sign_files(files, private_pem)
    (directory / SIGNATURE_NAME).write_bytes(content)
    signed = len([p for p in files if p != SIGNATURE_NAME])
    click.echo(f"signed {signed} files of {directory} with {public}")


@plugin.command("verify")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--trusted-key", "trusted", multiple=True, help="ed25519:<base64> (repeatable; default: PLUGINS_TRUSTED_KEYS)."
)
def plugin_verify(source: Path, trusted: tuple[str, ...]) -> None:
    """Check the signature of SOURCE (a directory or zip): exit 0 when valid, 1 (with the reason) when not."""
    from automatos.marketplace.archive import read_dir, read_zip
    from automatos.marketplace.signing import parse_public_key, verify

    settings = _settings()
    keys = trusted or settings.plugins_trusted_keys
    for text in keys:
        try:
            parse_public_key(text)
        except ValueError as exc:
            raise UsageExit(f"plugin verify: --trusted-key {text[:40]!r}: {exc}") from None
    with _unreadable("plugin verify"):
        if not source.exists():
            raise FileNotFoundError(2, "no such file or directory", str(source))
        limits = settings.archive_limits()
        files = read_dir(source, limits) if source.is_dir() else read_zip(source, limits)
    check = verify(files, keys)
    if check.valid:
        click.echo(f"valid: {check.reason}")
        return
    click.echo(f"invalid: signature {check.state}: {check.reason}", err=True)
    sys.exit(1)
