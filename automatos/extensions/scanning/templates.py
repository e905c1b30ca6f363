"""``template-injection``: bundled templates whose expressions reach Python internals.

Template engines (Jinja2, Mako, Django, Tornado, Chameleon, Genshi, Cheetah) evaluate the
expressions in ``{{ … }}``, ``{% … %}`` and ``${ … }``. An expression that walks object internals
(``cycler.__init__.__globals__.os.popen(...)``, ``''.__class__.__mro__[1].__subclasses__()``) is
code execution hidden in a file a reviewer reads as markup. A shipped template with such an
expression is critical when the bundle's Python uses a template engine (it will be rendered), high
otherwise (it is still code no template needs). Python files count too when they import an engine
(``Template("{{ … }}")`` literals).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from automatos.extensions.scanning.content import PYTHON_SUFFIXES, line_of, suffix
from automatos.kernel.scanning import ScanTarget
from automatos.kernel.types import ScanFinding, Severity

__all__ = ["TEMPLATE_RULE", "TemplateRule"]

_ENGINE = re.compile(
    r"^\s*(?:import|from)\s+(jinja2|mako|django\.template|tornado\.template|chameleon|genshi|Cheetah|jinja)\b",
    re.MULTILINE,
)
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{.*?\}|<%.*?%>", re.DOTALL)
_INTERNALS = re.compile(
    r"__(globals|subclasses|class|mro|base|bases|builtins|import|getattribute|code|func_globals|loader|spec)__"
    r"|\|\s*attr\s*\(\s*['\"]__|\bself\._TemplateReference__context\b"
    r"|\bos\.(system|popen|exec\w*|spawn\w*)\s*\(|\bsubprocess\.\w+\s*\(|\beval\s*\(|\bexec\s*\("
    r"|<%!?\s*import\s|^\s*%\s*import\s"
)
_MAX_TEXT = 2_000_000
_BINARY = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".so", ".dll", ".pyd", ".zip", ".whl", ".gz"}


@dataclass(frozen=True)
class TemplateRule:
    id: str = "template-injection"
    severity: Severity = Severity.CRITICAL

    def check_target(self, target: ScanTarget) -> Sequence[ScanFinding]:
        engine = False
        for path in target.python_files():
            text = target.text(path)
            if text is not None and _ENGINE.search(text):
                engine = True
                break
        findings: list[ScanFinding] = []
        for path, data in target.files.items():
            is_python = path.endswith(PYTHON_SUFFIXES)
            if suffix(path) in _BINARY or len(data) > _MAX_TEXT or b"\x00" in data[:4096]:
                continue
            text = data.decode("utf-8", "replace")
            if is_python and not _ENGINE.search(text):
                continue
            for match in _EXPRESSION.finditer(text):
                inner = _INTERNALS.search(match.group(0))
                if inner is None:
                    continue
                shown = match.group(0)[:80]
                why = "the bundle renders templates" if engine else "no template engine is imported"
                findings.append(
                    ScanFinding(
                        rule=self.id,
                        severity=Severity.CRITICAL if engine else Severity.HIGH,
                        message=f"template expression reaches Python internals ({inner.group(0)}; {why}): {shown!r}",
                        path=path,
                        line=line_of(text, match.start()),
                    )
                )
                break
        return findings


TEMPLATE_RULE = TemplateRule()
