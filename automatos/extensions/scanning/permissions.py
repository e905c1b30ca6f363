"""The manifest's ``[permissions]`` as the scanner reads it: hosts, environment variables, executables.

A capability used and declared weighs half and sits lower (``declared=True``); one used and not
declared is the finding an admin must see. Hosts may be written as ``api.example.com``,
``*.example.com`` or a URL; executables by base name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Permissions"]


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if isinstance(v, str | int))
    return ()


@dataclass(frozen=True)
class Permissions:
    network: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    subprocess: tuple[str, ...] = ()
    filesystem: tuple[str, ...] = ()

    @classmethod
    def from_manifest(cls, permissions: Mapping[str, Any]) -> Permissions:
        hosts = []
        for host in _strings(permissions.get("network")):
            hosts.append((urlsplit(host).hostname or host) if "://" in host else host.split("/", 1)[0].split(":", 1)[0])
        return cls(
            network=tuple(h.lower() for h in hosts if h),
            env=_strings(permissions.get("env")),
            subprocess=tuple(e.rsplit("/", 1)[-1] for e in _strings(permissions.get("subprocess"))),
            filesystem=_strings(permissions.get("filesystem")),
        )

    def host_declared(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for declared in self.network:
            if host == declared or fnmatch.fnmatchcase(host, declared) or host.endswith("." + declared.lstrip("*.")):
                return True
        return False

    def env_declared(self, name: str) -> bool:
        return name in self.env

    def exe_declared(self, exe: str) -> bool:
        return exe.rsplit("/", 1)[-1] in self.subprocess
