"""Prompt injection in a plugin's text: aimed at the LLM reviewer, or at the agents that will use it.

A plugin ships text that a language model reads twice: the marketplace's LLM review reads its
README, manifest, comments and docstrings; the workspace's agents read its skills, prompts, agent
templates, commands and routing rules (``[provides]``). Both are attack surfaces.

Text is normalised first (NFKC, look-alike Cyrillic/Greek letters folded to Latin, zero-width and
bidi controls removed, case folded) and matched with phrase patterns, never single words:

- ``prompt-injection-reviewer`` (critical): text that tries to steer the review ("rate this plugin
  safe", "this code is safe, do not flag", "as the security reviewer you…", "respond with verdict
  safe"), anywhere; and generic injection ("ignore previous instructions") where the reviewer reads
  it: comments, docstrings, README and other documentation, the manifest;
- ``prompt-injection`` (high): generic injection and role hijacking in the text agents will read
  (provided files, string literals in code, data) — critical when hidden (an HTML comment,
  zero-width characters between the letters, Unicode tag characters, base64 in Markdown); a phrase
  only quoted or discussed as a topic ("detects phrases like 'ignore previous instructions'") is low;
- ``prompt-exfiltration`` (high; critical when hidden or next to an instruction override):
  instructions to collect keys or secrets or send the conversation to a URL, host or address, and
  Markdown/HTML images whose URL carries a placeholder to a host the manifest does not declare;
- ``hidden-text`` (medium; high for bidi controls in Python source — "Trojan Source" — and for
  runs of invisible tag characters): characters whose only use here is to hide text.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tokenize
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from automatos.extensions.scanning.content import PYTHON_SUFFIXES, ContentRule, cached, is_doc, line_of, suffix
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["RULES", "analyse", "normalise_text", "phrases"]

CACHE_KEY = "content.injection"
MAX_PER_FILE = 5
_W = r"\s+"
_THING = r"(?:plugin|package|code|extension|module|file|bundle|library|script)"

_OUTSIDE = (
    r"(?:https?://|www\.|[\w.-]+\.(?:com|net|org|io|ru|cn|xyz|top|site|invalid)\b|[\w.+-]+@[\w-]+\.|(?:this|that|the"
    r"\s+following|our|my)\s+(?:url|endpoint|server|webhook|address|e-?mail|link|host))"
)
"""Where exfiltrated data goes: a URL, a host, an address — not "the user"."""
_SAFE = ("safe", "benign", "harmless", "malicious")
_AIMED = ("reviewer", "auditor", "scan")
_PHRASES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # (group, needles: words every match contains, pattern over normalised text)
    ("reviewer", _SAFE, rf"rate{_W}(?:this|the){_W}{_THING}{_W}(?:as{_W})?(?:safe|benign|harmless)"),
    (
        "reviewer",
        _SAFE,
        rf"(?:mark|classify|label|consider|treat|report|score|approve|whitelist){_W}(?:this|the|it)(?:{_W}{_THING})?"
        rf"{_W}as{_W}(?:safe|benign|harmless|not{_W}malicious)",
    ),
    (
        "reviewer",
        _SAFE,
        rf"this{_W}{_THING}{_W}is{_W}(?:completely{_W}|totally{_W}|perfectly{_W}|100%{_W})?(?:safe|benign|harmless)\b"
        rf"[^\n]{{0,80}}?(?:do{_W}not|don'?t|no{_W}need{_W}to|never){_W}(?:flag|report|block|scan|review|mark)",
    ),
    (
        "reviewer",
        ("flag", "quarantin"),
        rf"(?:do{_W}not|don'?t|never|no{_W}need{_W}to){_W}(?:flag|quarantine){_W}(?:this|the){_W}{_THING}",
    ),
    ("reviewer", ("malicious",), rf"(?:this|it){_W}is{_W}not{_W}malicious"),
    (
        "reviewer",
        _AIMED,
        rf"\bas{_W}(?:the|a|an){_W}(?:ai{_W}|llm{_W}|automated{_W})?(?:security{_W})?(?:code{_W})?"
        rf"(?:reviewer|auditor|scanner)\b[^\n]{{0,60}}?\b(?:you|rate|mark|approve|classify|ignore|must|should)\b",
    ),
    (
        "reviewer",
        _AIMED,
        rf"(?:note|message|instructions?){_W}(?:to|for){_W}(?:the{_W})?(?:ai|llm|automated|security){_W}"
        rf"(?:reviewer|scanner|auditor)",
    ),
    (
        "reviewer",
        _AIMED,
        rf"\b(?:dear|hey|hello|attention),?{_W}(?:ai|llm|security|automated){_W}(?:reviewer|scanner|auditor)",
    ),
    ("reviewer", _AIMED, r"\b(?:ai|llm|automated)\s+(?:reviewer|scanner|auditor)s?\s*[:,]\s"),
    (
        "reviewer",
        ("verdict",),
        rf"(?:respond|reply|answer|output|return){_W}(?:only{_W})?with{_W}(?:the{_W}|a{_W})?(?:verdict|\{{\s*\"?verdict)",
    ),
    ("reviewer", ("verdict",), r"\"?verdict\"?\s*[:=]\s*\"?(?:safe|approved|benign)\b"),
    ("reviewer", ("risk_score",), r"\"?risk_score\"?\s*[:=]\s*0\b"),
    (
        "reviewer",
        ("findings", "scan"),
        rf"(?:ignore|disregard|skip){_W}(?:all{_W}|any{_W})?(?:the{_W})?(?:security{_W})?"
        rf"(?:findings|scan{_W}results|scanner{_W}(?:findings|warnings|results))",
    ),
    (
        "generic",
        ("ignore", "disregard", "forget", "override", "bypass"),
        rf"\b(?:ignore|disregard|forget|override|bypass){_W}(?:(?:all|any|the|your|every|of){_W})*"
        rf"(?:previous|prior|above|earlier|preceding|former|original|system){_W}"
        r"(?:instructions?|prompts?|rules|directions|guidelines|context|messages)",
    ),
    ("generic", ("forget",), rf"\bforget{_W}(?:everything|all){_W}(?:you|that|above)"),
    (
        "generic",
        ("you are",),
        rf"\byou{_W}are{_W}(?:now|no{_W}longer){_W}(?:in{_W})?(?:dan\b|jailbroken|unrestricted|unfiltered|uncensored"
        rf"|developer{_W}mode|free{_W}(?:from|of)|not{_W}bound|bound{_W}by|an?{_W}(?:unrestricted|unfiltered|uncensored))",
    ),
    (
        "generic",
        ("system", "instructions"),
        rf"\b(?:reveal|print|show|repeat|output|leak|disclose|dump){_W}(?:me{_W})?(?:your|the){_W}"
        rf"(?:full{_W}|entire{_W}|original{_W}|hidden{_W})?(?:system{_W}prompt|system{_W}message|initial{_W}instructions"
        rf"|hidden{_W}instructions)",
    ),
    ("generic", ("instructions", "system"), rf"\bnew{_W}(?:system{_W})?(?:instructions|system{_W}prompt)"
        rf"(?:{_W}from{_W}[^:\n]{{1,40}})?\s*:"),
    ("generic", ("<|", "inst]"), r"<\|im_start\|>\s*system|\[/?inst\]|<<sys>>|<\|system\|>"),
    (
        "generic",
        ("anything now", "jailbreak", "developer mode"),
        rf"\bdo{_W}anything{_W}now\b|\bjailbreak(?:ed)?{_W}mode\b|\bdeveloper{_W}mode{_W}(?:enabled|on)\b",
    ),
    (
        "generic",
        ("unrestricted", "unfiltered", "uncensored"),
        rf"\b(?:pretend|act){_W}(?:that{_W})?(?:you{_W})?(?:are|as){_W}(?:an?{_W})?(?:unrestricted|unfiltered|uncensored)",
    ),
    (
        "exfil",
        (
            "conversation", "history", "chat log", "messages", "transcript", "system prompt", "credential", "api key",
            "secret", "token", "password", "environment variable", "env var", "user data",
        ),
        rf"\b(?:send|post|upload|forward|transmit|exfiltrate|e-?mail|leak|copy){_W}(?:[\w'-]+{_W}){{0,6}}?"
        rf"(?:conversation|chat{_W}history|chat{_W}log|message{_W}history|messages|transcript"
        rf"|system{_W}prompt|credentials|api{_W}keys?|secrets?|tokens?|passwords?|environment{_W}variables|env{_W}vars"
        rf"|user{_W}data)\b[^\n]{{0,80}}?\b(?:to|into){_W}{_OUTSIDE}",
    ),
    (
        "exfil",
        ("api key", "secret", "token", "password", "credential", "environment variable", "private key"),
        rf"\b(?:include|append|embed|add|put){_W}(?:(?:the|your|any|all){_W})*(?:user'?s{_W})?(?:api{_W}keys?|secret{_W}keys?"
        rf"|access{_W}tokens?|auth(?:orization)?{_W}tokens?|passwords?|credentials|environment{_W}variables|private{_W}keys?)"
        rf"{_W}(?:in|into|with|to)\b",
    ),
    (
        "exfil",
        ("api key", "token", "password", "credential", "secret"),
        rf"\b(?:collect|gather|harvest|extract){_W}(?:(?:every|all|any|the|your){_W})*(?:api{_W}keys?|tokens?|passwords?"
        rf"|credentials|secrets?)\b",
    ),
    (
        "generic",
        ("the user",),
        rf"(?:do{_W}not|don'?t|never){_W}(?:mention|tell|reveal|disclose|show)(?:{_W}(?:this|it|that|anything))?"
        rf"(?:{_W}step)?{_W}to{_W}the{_W}user|without{_W}(?:telling|informing|notifying|alerting){_W}the{_W}user"
        rf"|hide{_W}(?:this|it){_W}from{_W}the{_W}user",
    ),
)  # fmt: skip


def _by_needle() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    grouped: dict[str, dict[str, list[str]]] = {}
    for kind, needles, pattern in _PHRASES:
        for needle in needles:
            grouped.setdefault(needle, {}).setdefault(kind, []).append(pattern)
    return {
        needle: [(kind, re.compile("|".join(f"(?:{p})" for p in patterns))) for kind, patterns in kinds.items()]
        for needle, kinds in grouped.items()
    }


_BY_NEEDLE = _by_needle()
"""needle -> (group, the patterns whose matches contain it) (see :func:`phrases`)."""
MAX_WINDOWS = 400
_REACH = 200
_IMAGE_URL = re.compile(
    r"!\[[^\]]*\]\(\s*<?(https?://[^\s)>]+)|<img\b[^>]*\bsrc\s*=\s*[\"']?(https?://[^\s\"'>]+)", re.I
)
_PLACEHOLDER = re.compile(r"\{\{?[^}\s]{1,40}\}|%7b|\$\{?[a-z_]\w*|<[a-z_]{2,30}>|\[[A-Z_]{3,30}\]", re.I)
_HTML_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_MD_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_META = re.compile(
    r"prompt[\s-]injection|injection\s+attack|jailbreak\s+attempt|such\s+as|e\.g\.|for\s+example|phrases?\s+like|"
    r"detect|attacks?\s+like|attackers?\s+use|phrasings?|recogni[sz]e|malicious\s+(?:input|prompt)"
)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"

_ZERO_WIDTH = "\u200b\u2060\u180e\u2061\u2062\u2063\u2064\ufeff"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = re.compile(f"[{_ZERO_WIDTH}{_BIDI}]")
_TAGS = re.compile("[\U000e0020-\U000e007e]{8,}")
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁɡһԛԝАВЕКМНОРСТХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧαβεικνορτυχ",
    "aeopcyxijsdghqwABEKMHOPCTXIJSABEZHIKMNOPTYXabeiknoptux",
)
_FOLDED = re.compile(f"[{_ZERO_WIDTH}{_BIDI}\u00ad\u200c\u200d\u0370-\u03ff\u0400-\u04ff\u0500-\u052f\u0261\u04bb]")
_STRIP = {ord(c): None for c in _ZERO_WIDTH + _BIDI + "\u00ad\u200c\u200d"}


def normalise_text(text: str) -> str:
    """NFKC, look-alikes folded, invisible characters removed, case folded; lines kept in place."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text)
    if _FOLDED.search(text):  # str.translate is slow: only when there is something to fold or strip
        text = text.translate(_CONFUSABLES).translate(_STRIP)
    return text.casefold()


def phrases(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    """(``reviewer``/``generic``/``exfil``, match) for every phrase pattern in normalised ``text``.

    Running two dozen phrase patterns over every character would cost about a second per
    megabyte. Instead each pattern runs only in windows around its needles (words every match of it
    contains, found with ``str.find``), and over the whole text when a needle occurs too often.
    """
    seen: set[tuple[str, int]] = set()
    for needle, patterns in _BY_NEEDLE.items():
        at = text.find(needle)
        if at < 0:
            continue
        spans: list[tuple[int, int]] = []
        while at >= 0 and len(spans) <= MAX_WINDOWS:
            start, end = max(0, at - _REACH), at + len(needle) + _REACH
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
            at = text.find(needle, at + len(needle))
        if len(spans) > MAX_WINDOWS:
            spans = [(0, len(text))]
        for kind, pattern in patterns:
            for start, end in spans:
                for match in pattern.finditer(text, start, end):
                    if (kind, match.start()) not in seen:
                        seen.add((kind, match.start()))
                        yield kind, match


def _mentioned(text: str, match: re.Match[str]) -> bool:
    """The phrase is quoted or discussed ("detects phrases like '…'"), not addressed to a model."""
    before = text[max(0, match.start() - 3) : match.start()].strip()
    after = text[match.end() : match.end() + 3].strip()
    if before[-1:] in _QUOTES and (after[:1] in _QUOTES or (after[:1] in ".,;" and after[1:2] in _QUOTES)):
        return True
    start = max(text.rfind("\n\n", 0, match.start()), match.start() - 600, 0)
    return bool(_META.search(text, start, min(len(text), match.end() + 120)))


def _provided(manifest: Mapping[str, Any]) -> set[str]:
    provides = manifest.get("provides")
    out: set[str] = set()
    if isinstance(provides, Mapping):
        for value in provides.values():
            items: Iterable[Any] = value if isinstance(value, list) else [value]
            out.update(item.removeprefix("./") for item in items if isinstance(item, str))
    return out


def _python_regions(text: str) -> dict[int, str]:
    """Line -> ``comment``/``docstring`` for the lines a reviewer reads as prose in Python source."""
    regions: dict[int, str] = {}
    previous = tokenize.NEWLINE
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                regions[token.start[0]] = "comment"
            elif token.type == tokenize.STRING and previous in (
                tokenize.NEWLINE,
                tokenize.NL,
                tokenize.INDENT,
                tokenize.DEDENT,
            ):
                for line in range(token.start[0], token.end[0] + 1):
                    regions[line] = "docstring"
            if token.type not in (tokenize.COMMENT,):
                previous = token.type
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return {}
    return regions


class _Scan:
    def __init__(self, path: str, declared_hosts: list[str]) -> None:
        self.path = path
        self.hosts = declared_hosts
        self.findings: list[ScanFinding] = []
        self.mentions = 0

    def add(self, rule: str, severity: Severity, message: str, line: int) -> None:
        if sum(1 for f in self.findings if f.rule == rule) < MAX_PER_FILE:
            self.findings.append(ScanFinding(rule=rule, severity=severity, message=message, path=self.path, line=line))

    def text(self, raw: str, context: str, *, hidden: bool = False, base_line: int = 0) -> None:
        """Match every phrase in ``raw`` read in ``context`` (reviewer/agent/python)."""
        text = normalise_text(raw)
        regions: dict[int, str] | None = None
        comments = [] if hidden else [(m.start(), m.end()) for m in _HTML_COMMENT.finditer(text)]
        invisible = set() if raw.isascii() else {line_of(raw, m.start()) for m in _INVISIBLE.finditer(raw)}
        before = len(self.findings)
        for kind, match in phrases(text):
            line = base_line + line_of(text, match.start())
            quote = match.group(0)[:60].strip()
            in_comment = hidden or line - base_line in invisible or any(s <= match.start() < e for s, e in comments)
            where = context
            if context == "python":
                if regions is None:
                    regions = _python_regions(raw)
                where = "reviewer" if line - base_line in regions else "agent"
            if kind == "reviewer":
                self.add("prompt-injection-reviewer", Severity.CRITICAL, f"text aimed at the reviewer: {quote!r}", line)
            elif kind == "exfil" and not in_comment and _mentioned(text, match):
                self.mentions += 1  # quoted or discussed as an example of an attack, not an instruction
            elif kind == "exfil":
                severity = Severity.CRITICAL if in_comment else Severity.HIGH
                self.add("prompt-exfiltration", severity, f"exfiltration instruction: {quote!r}", line)
            elif in_comment:
                self.add("prompt-injection", Severity.CRITICAL, f"hidden prompt injection: {quote!r}", line)
            elif _mentioned(text, match):
                self.mentions += 1
            elif where == "reviewer":
                self.add(
                    "prompt-injection-reviewer",
                    Severity.CRITICAL,
                    f"injection where the reviewer reads: {quote!r}",
                    line,
                )
            else:
                self.add("prompt-injection", Severity.HIGH, f"prompt injection: {quote!r}", line)
        self.escalate(before)
        if not raw.isascii():
            self.hidden_characters(raw, context, base_line)
        if not hidden and context != "python":
            self.images(raw, base_line)

    def escalate(self, start: int) -> None:
        """Exfiltration next to an instruction override in the same text is an attack: critical."""
        new = self.findings[start:]
        if any(f.rule == "prompt-injection" for f in new):
            self.findings[start:] = [
                msgspec.structs.replace(f, severity=Severity.CRITICAL, message=f"{f.message} (with an override)")
                if f.rule == "prompt-exfiltration" and f.severity is Severity.HIGH
                else f
                for f in new
            ]

    def hidden_characters(self, raw: str, context: str, base_line: int) -> None:
        for match in _TAGS.finditer(raw):
            decoded = "".join(chr(ord(c) - 0xE0000) for c in match.group(0))
            self.add(
                "hidden-text",
                Severity.HIGH,
                f"invisible tag characters spell {decoded[:60]!r}",
                base_line + line_of(raw, match.start()),
            )
            self.text(decoded, context, hidden=True, base_line=base_line + line_of(raw, match.start()) - 1)
        invisible = _INVISIBLE.search(raw, 1 if raw.startswith("\ufeff") else 0)
        if invisible is None or suffix(self.path) in (".po", ".pot", ".mo"):
            return
        line = base_line + line_of(raw, invisible.start())
        bidi = invisible.group(0) in _BIDI
        if bidi and context == "python":
            self.add("hidden-text", Severity.HIGH, "bidi control characters in source (Trojan Source)", line)
        else:
            what = "bidi control" if bidi else "zero-width"
            self.add("hidden-text", Severity.MEDIUM, f"{what} characters that hide text", line)

    def images(self, raw: str, base_line: int) -> None:
        for match in _IMAGE_URL.finditer(raw):
            url = match.group(1) or match.group(2) or ""
            host = re.sub(r"^https?://", "", url).split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].lower()
            query = url.split("?", 1)[1] if "?" in url else ""
            if query and _PLACEHOLDER.search(query) and not _declared(host, self.hosts):
                line = base_line + line_of(raw, match.start())
                message = f"an image URL sends data ({query[:40]!r}) to {host!r}, a host the manifest does not declare"
                self.add("prompt-exfiltration", Severity.HIGH, message, line)

    def markdown_base64(self, raw: str, context: str) -> None:
        for count, match in enumerate(_MD_BASE64.finditer(raw)):
            if count >= 32:
                break
            if raw[max(0, match.start() - 80) : match.start()].rfind("base64,") >= 0:
                continue  # a data: URI (an image)
            chunk = match.group(0)
            try:
                decoded = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            if decoded.isprintable() or "\n" in decoded:
                self.text(decoded, context, hidden=True, base_line=line_of(raw, match.start()) - 1)


def _declared(host: str, hosts: list[str]) -> bool:
    for allowed in hosts:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return True
    return False


def analyse(target: ScanTarget) -> list[ScanFinding]:
    manifest: Mapping[str, Any] = target.manifest or {}
    provided = _provided(manifest)
    network = target.permissions().get("network")
    hosts = [h for h in network if isinstance(h, str)] if isinstance(network, list) else []
    findings: list[ScanFinding] = []
    for path in target.files:
        raw = target.text(path)
        if raw is None:
            continue
        scan = _Scan(path, hosts)
        if path.endswith(PYTHON_SUFFIXES):
            scan.text(raw, "python")
        elif path in provided:
            scan.text(raw, "agent")
            scan.markdown_base64(raw, "agent")
        elif is_doc(path) or path == "plugin.toml" or suffix(path) in (".txt", ".html", ".htm"):
            scan.text(raw, "reviewer")
            if is_doc(path):
                scan.markdown_base64(raw, "reviewer")
        else:
            scan.text(raw, "agent")
        if scan.mentions:
            message = f"mentions prompt-injection phrases as a topic ({scan.mentions} times)"
            scan.findings.append(
                ScanFinding(rule="prompt-injection", severity=Severity.LOW, message=message, path=path)
            )
        findings.extend(scan.findings)
    return findings


def _analysis(target: ScanTarget) -> list[ScanFinding]:
    return cached(target, CACHE_KEY, analyse)


RULES: tuple[ContentRule, ...] = (
    ContentRule("prompt-injection-reviewer", Severity.CRITICAL, "text that tries to steer the review", _analysis),
    ContentRule("prompt-injection", Severity.HIGH, "prompt injection in text agents will read", _analysis),
    ContentRule("prompt-exfiltration", Severity.HIGH, "instructions or image URLs that leak data", _analysis),
    ContentRule("hidden-text", Severity.MEDIUM, "invisible characters that hide text", _analysis),
)
