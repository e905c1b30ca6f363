"""A local stand-in for Composio's API: the wire format the real ``composio`` SDK speaks.

A threaded HTTP server on 127.0.0.1 answering the paths and JSON shapes of ``composio_client``'s
resources (``/api/v3.1/...``): toolkits, tools (list, retrieve, execute), trigger types, auth
configs, Composio Connect links, connected accounts (retrieve, list, delete), trigger instances
(upsert, delete). Every request is counted (:attr:`FakeComposio.requests`), so a test can prove a
page made no external call; :meth:`FakeComposio.complete` plays the user finishing the OAuth flow;
:attr:`FakeComposio.fail` makes the matching paths answer an error. Executions check the connected
account: it must exist, be ``ACTIVE`` and belong to the tool's toolkit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["API_KEY", "FakeComposio", "Seen", "sign_webhook"]

API_KEY = "ck_test_fake_key"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class FakeComposio:
    toolkits: dict[str, int]
    """Toolkit slug → how many actions it has (``<TOOLKIT>_ACTION_<n>``)."""
    triggers_per_toolkit: int = 2
    requests: list[Seen] = field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth_configs: dict[str, str] = field(default_factory=dict)
    """Toolkit slug → auth config id (created on first use)."""
    executions: list[dict[str, Any]] = field(default_factory=list)
    trigger_instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    """Path prefix → status every matching request answers (``{"/api/v3.1/tools/execute": 500}``)."""
    hold: threading.Event | None = None
    """While set to an unset event, every request waits for it (at most 10 s): a sync kept running."""
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- the catalogue -------------------------------------------------------------------------------

    def action_slugs(self, toolkit: str) -> list[str]:
        return [f"{toolkit.upper()}_ACTION_{n:04d}" for n in range(self.toolkits[toolkit])]

    def _toolkit(self, slug: str) -> dict[str, Any]:
        return {
            "slug": slug,
            "name": slug.title(),
            "type": "native",
            "is_local_toolkit": False,
            "deprecated": {"toolkitId": f"tk_{slug}"},
            "auth_schemes": ["OAUTH2"],
            "composio_managed_auth_schemes": ["OAUTH2"],
            "no_auth": False,
            "meta": {
                "app_url": f"https://{slug}.example",
                "categories": [{"id": "dev", "name": "Developer tools"}],
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "description": f"The {slug} toolkit",
                "logo": f"https://logos.example/{slug}.png",
                "tools_count": self.toolkits[slug],
                "triggers_count": self.triggers_per_toolkit,
                "version": "20260101_00",
            },
        }

    def _tool(self, toolkit: str, slug: str) -> dict[str, Any]:
        n = int(slug.rsplit("_", 1)[1])
        verb = ("get", "create", "delete")[n % 3]
        return {
            "slug": slug,
            "name": f"{verb.title()} thing {n}",
            "description": f"{verb.title()}s thing number {n} in {toolkit}",
            "human_description": None,
            "input_parameters": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "count": {"type": "integer"}},
                "required": ["title"],
            },
            "output_parameters": {"type": "object"},
            "available_versions": ["20260101_00"],
            "version": "20260101_00",
            "is_deprecated": False,
            "deprecated": {
                "available_versions": ["20260101_00"],
                "displayName": slug,
                "is_deprecated": False,
                "toolkit": {"logo": ""},
                "version": "20260101_00",
            },
            "no_auth": False,
            "scopes": [],
            "tags": ["readOnlyHint"] if verb == "get" else (["destructiveHint"] if verb == "delete" else []),
            "toolkit": {"slug": toolkit, "name": toolkit.title(), "logo": ""},
        }

    def _trigger(self, toolkit: str, n: int) -> dict[str, Any]:
        return {
            "slug": f"{toolkit.upper()}_EVENT_{n}",
            "name": f"{toolkit} event {n}",
            "description": f"Fires on {toolkit} event {n}",
            "instructions": "",
            "config": {"type": "object", "properties": {"repo": {"type": "string"}}},
            "payload": {"type": "object"},
            "type": "webhook",
            "version": "20260101_00",
            "toolkit": {"slug": toolkit, "name": toolkit.title(), "logo": ""},
        }

    def all_tools(self) -> list[dict[str, Any]]:
        return [self._tool(tk, s) for tk in sorted(self.toolkits) for s in self.action_slugs(tk)]

    def all_triggers(self) -> list[dict[str, Any]]:
        return [self._trigger(tk, n) for tk in sorted(self.toolkits) for n in range(self.triggers_per_toolkit)]

    # --- what a test plays ---------------------------------------------------------------------------

    def complete(self, account_id: str, *, access_token: str = "gho_plaintext_access_token") -> None:
        """The user finished the OAuth flow: the account is ``ACTIVE`` with tokens."""
        with self._lock:
            account = self.accounts[account_id]
            account["status"] = "ACTIVE"
            account["val"] = {
                "status": "ACTIVE",
                "access_token": access_token,
                "refresh_token": "ghr_plaintext_refresh_token",
                "token_type": "bearer",
                "expires_in": 3600,
            }

    def external_calls(self) -> int:
        return len(self.requests)

    # --- the server ----------------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with fake._lock:
                    fake.requests.append(Seen(method, parts.path, parse_qs(parts.query), body))
                if fake.hold is not None:
                    fake.hold.wait(10)
                if self.headers.get("x-api-key") != API_KEY:
                    return self._answer(401, {"error": {"message": "invalid api key", "code": 401}})
                for prefix, status in fake.fail.items():
                    if parts.path.startswith(prefix):
                        return self._answer(status, {"error": {"message": "upstream exploded", "code": status}})
                with fake._lock:
                    status, answer = fake.answer(method, parts.path, parse_qs(parts.query), body)
                self._answer(status, answer)

            def _answer(self, status: int, answer: Any) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-composio").start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the routes ----------------------------------------------------------------------------------

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        limit = int(float(query.get("limit", ["20"])[0]))
        start = int(query.get("cursor", ["0"])[0] or 0)
        page = items[start : start + limit]
        following = start + limit
        return {
            "items": page,
            "next_cursor": str(following) if following < len(items) else None,
            "total_items": len(items),
            "total_pages": max(1, -(-len(items) // limit)),
            "current_page": start // limit + 1,
        }

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        base = "/api/v3.1"
        if not path.startswith(base):
            return 404, {"error": {"message": f"no route {path}"}}
        route = path[len(base) :]
        segments = route.strip("/").split("/")
        if method == "GET" and route == "/toolkits":
            return 200, self._page([self._toolkit(s) for s in sorted(self.toolkits)], query)
        if method == "GET" and route == "/tools":
            tools = self.all_tools()
            if "toolkit_slug" in query:
                tools = [t for t in tools if t["toolkit"]["slug"] in query["toolkit_slug"][0].split(",")]
            return 200, self._page(tools, query)
        if method == "GET" and segments[0] == "tools" and len(segments) == 2:
            return self._tool_by_slug(segments[1])
        if method == "POST" and segments[:2] == ["tools", "execute"] and len(segments) == 3:
            return self._execute(segments[2], body or {})
        if method == "GET" and route == "/triggers_types":
            return 200, self._page(self.all_triggers(), query)
        if method == "GET" and segments[0] == "triggers_types" and len(segments) == 2:
            found = [t for t in self.all_triggers() if t["slug"] == segments[1]]
            return (200, found[0]) if found else (404, {"error": {"message": "no such trigger"}})
        if method == "GET" and route == "/auth_configs":
            toolkit = query.get("toolkit_slug", [""])[0]
            items = [self._auth_config(toolkit, self.auth_configs[toolkit])] if toolkit in self.auth_configs else []
            return 200, self._page(items, query)
        if method == "POST" and route == "/auth_configs":
            toolkit = body["toolkit"]["slug"]
            config_id = self.auth_configs.setdefault(toolkit, f"ac_{next(self._ids)}")
            return 201, {
                "auth_config": {"id": config_id, "auth_scheme": "OAUTH2", "is_composio_managed": True},
                "toolkit": {"slug": toolkit},
            }
        if method == "POST" and route == "/connected_accounts/link":
            return self._link(body)
        if method == "GET" and route == "/connected_accounts":
            users = set(query.get("user_ids", []))
            items = [self._account(a) for a in self.accounts.values() if not users or a["user_id"] in users]
            return 200, self._page(items, query)
        if segments[0] == "connected_accounts" and len(segments) == 2:
            account = self.accounts.get(segments[1])
            if account is None:
                return 404, {"error": {"message": "connected account not found"}}
            if method == "GET":
                return 200, self._account(account)
            if method == "DELETE":
                del self.accounts[segments[1]]
                return 200, {"success": True}
        if method == "POST" and segments[0] == "trigger_instances" and segments[-1] == "upsert":
            return self._upsert_trigger(segments[1], body or {})
        if method == "DELETE" and segments[:2] == ["trigger_instances", "manage"]:
            self.trigger_instances.pop(segments[2], None)
            return 200, {"trigger_id": segments[2]}
        return 404, {"error": {"message": f"no route {method} {path}"}}

    def _tool_by_slug(self, slug: str) -> tuple[int, Any]:
        for toolkit in self.toolkits:
            if slug in self.action_slugs(toolkit):
                return 200, self._tool(toolkit, slug)
        return 404, {"error": {"message": f"tool {slug} not found"}}

    def _execute(self, slug: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, tool = self._tool_by_slug(slug)
        if status != 200:
            return status, tool
        account_id = body.get("connected_account_id")
        account = self.accounts.get(account_id or "")
        if account is None or account["status"] != "ACTIVE" or account["toolkit"] != tool["toolkit"]["slug"]:
            return 400, {"error": {"message": f"connected account {account_id!r} cannot run {slug}"}}
        self.executions.append({"slug": slug, "account": account_id, "user_id": body.get("user_id"), **body})
        return 200, {
            "data": {"echo": body.get("arguments", {}), "account": account_id},
            "error": None,
            "successful": True,
            "log_id": f"log_{next(self._ids)}",
        }

    def _auth_config(self, toolkit: str, config_id: str) -> dict[str, Any]:
        return {
            "id": config_id,
            "uuid": config_id,
            "name": f"{toolkit} managed",
            "no_of_connections": 0,
            "status": "ENABLED",
            "type": "default",
            "auth_scheme": "OAUTH2",
            "is_composio_managed": True,
            "tool_access_config": {},
            "toolkit": {"slug": toolkit, "logo": ""},
        }

    def _link(self, body: dict[str, Any]) -> tuple[int, Any]:
        config_id = body["auth_config_id"]
        toolkit = next((tk for tk, cid in self.auth_configs.items() if cid == config_id), None)
        if toolkit is None:
            return 404, {"error": {"message": "auth config not found"}}
        account_id = f"ca_{next(self._ids)}"
        self.accounts[account_id] = {
            "id": account_id,
            "user_id": body["user_id"],
            "auth_config_id": config_id,
            "toolkit": toolkit,
            "status": "INITIATED",
            "callback_url": body.get("callback_url"),
            "val": {"status": "INITIATED"},
        }
        return 201, {
            "connected_account_id": account_id,
            "redirect_url": f"https://connect.composio.example/link/{account_id}",
            "link_token": f"lt_{account_id}",
            "expires_at": "2099-01-01T00:00:00Z",
        }

    def _account(self, account: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": account["id"],
            "user_id": account["user_id"],
            "status": account["status"],
            "status_reason": None,
            "is_disabled": False,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "auth_config": {
                "id": account["auth_config_id"],
                "auth_scheme": "OAUTH2",
                "is_composio_managed": True,
                "is_disabled": False,
            },
            "toolkit": {"slug": account["toolkit"]},
            "data": {},
            "params": {},
            "state": {"authScheme": "OAUTH2", "val": dict(account["val"])},
        }

    def _upsert_trigger(self, slug: str, body: dict[str, Any]) -> tuple[int, Any]:
        account = self.accounts.get(body.get("connected_account_id") or "")
        if account is None or account["status"] != "ACTIVE":
            return 400, {"error": {"message": "an active connected account is required"}}
        trigger_id = f"ti_{next(self._ids)}"
        self.trigger_instances[trigger_id] = {"slug": slug, "account": account["id"], "body": body}
        return 200, {"trigger_id": trigger_id}


def sign_webhook(secret: str, body: str, *, message_id: str = "msg_1", timestamp: int | None = None) -> dict[str, str]:
    """The headers Composio sends with a webhook: ``webhook-id``, ``-timestamp``, ``-signature``
    (``v1,`` + base64 HMAC-SHA256 of ``<id>.<timestamp>.<body>``)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{message_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
