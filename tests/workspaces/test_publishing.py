"""One owner per write: every workspace and membership write publishes itself, once, after its commit.

The WorkspaceService drops this node's directory entries and publishes a ``directory`` message on
the kernel bus after the transaction commits; a write that fails publishes nothing. Another node
hears it at once (its directory cache is given an hour to live here, so only the message can
explain that it follows), whether the write came from the API's service, the CLI or the JWT
extension's first-login provisioning.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from automatos.kernel.container import KernelContainer
from automatos.kernel.core import Kernel
from automatos.kernel.db import models as m
from automatos.kernel.errors import ConflictError, NotFoundError, ValidationError
from automatos.workspaces.service import DEFAULT_WORKSPACE_SLUG, WorkspaceService
from tests.extensions.test_jwt import JWKSServer, claims, login, settings_for, sign
from tests.helpers import make_container, running_kernel
from tests.plugins import everything
from tests.test_cli_keys import one_json_object, run

Probe = Callable[[], Awaitable[Any]]


async def _wait_for(predicate: Callable[[], Awaitable[bool]], deadline_s: float = 10.0) -> None:
    """Poll until ``predicate()`` is true; a liveness deadline, not a timing assertion."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.02)


@dataclass
class BusSpy:
    """Records the ``directory`` messages a kernel publishes, and what a fresh session read then."""

    probe: Probe | None = None
    messages: list[tuple[str | None, Any]] = field(default_factory=list)

    def install(self, kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
        publish = kernel.bus.publish

        async def spied(kind: str, **data: Any) -> None:
            if kind == "directory":
                seen = await self.probe() if self.probe is not None else None
                self.messages.append((data.get("workspace_id"), seen))
            await publish(kind, **data)

        monkeypatch.setattr(kernel.bus, "publish", spied)

    def take(self) -> list[tuple[str | None, Any]]:
        taken, self.messages = self.messages, []
        return taken


async def _read(kernel: Kernel, query: Any) -> Any:
    """``query`` in a session of its own: what another connection (another node) sees now."""
    async with kernel.store.sessionmaker() as session:
        return await session.scalar(query)


def _role(kernel: Kernel, workspace_id: str, user_id: str) -> Probe:
    query = select(m.WorkspaceMember.role).where(
        m.WorkspaceMember.workspace_id == workspace_id, m.WorkspaceMember.user_id == user_id
    )
    return lambda: _read(kernel, query)


def _status(kernel: Kernel, slug: str) -> Probe:
    return lambda: _read(kernel, select(m.Workspace.status).where(m.Workspace.slug == slug))


@pytest.fixture
async def kernel(tmp_path: Path) -> AsyncIterator[Kernel]:
    async with running_kernel(tmp_path) as k:
        yield k


async def test_every_write_publishes_once_after_its_commit(kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    service = WorkspaceService.of(kernel)
    spy = BusSpy()
    spy.install(kernel, monkeypatch)
    everything.EVENTS.clear()

    spy.probe = _status(kernel, "acme")
    acme = await service.create("acme", "Acme", owner_id=None)
    assert spy.take() == [(acme.id, "active")]

    spy.probe = lambda: _read(kernel, select(m.User.id).where(m.User.email == "ann@example.com"))
    ann = await service.add_member(acme.id, "Ann@Example.com", "owner", actor_id="test")
    assert spy.take() == [(acme.id, ann.user_id)]
    bob = await service.add_member(acme.id, "bob@example.com", "member", actor_id="test")
    spy.take()

    spy.probe = _role(kernel, acme.id, bob.user_id)
    assert await service.set_role(acme.id, bob.user_id, "admin", actor_id="test") == "member"
    assert spy.take() == [(acme.id, "admin")]
    assert await service.remove_member(acme.id, bob.user_id, actor_id="test") == "admin"
    assert spy.take() == [(acme.id, None)]

    spy.probe = lambda: _read(kernel, select(m.Workspace.name).where(m.Workspace.id == acme.id))
    await service.update(acme.id, name="Acme Ltd", settings={"k": "v"}, actor_id="test")
    assert spy.take() == [(acme.id, "Acme Ltd")]

    spy.probe = _status(kernel, "acme")
    await service.archive(acme.id, actor_id="test")
    assert spy.take() == [(acme.id, "archived")]
    await service.restore(acme.id, actor_id="test")
    assert spy.take() == [(acme.id, "active")]

    spy.probe = _role(kernel, acme.id, bob.user_id)
    assert await service.make_platform_admin("bob@example.com", acme.id, actor_id="cli") == bob.user_id
    assert spy.take() == [(acme.id, "owner")]

    async def told() -> bool:
        names = [(name, ws) for name, ws, _ in everything.EVENTS]
        return ("workspace.created", acme.id) in names and ("workspace.restored", acme.id) in names

    await _wait_for(told)  # the events the writes make reach extensions, once each
    assert [name for name, ws, _ in everything.EVENTS if ws == acme.id].count("workspace.created") == 1


async def test_this_node_forgets_at_once(kernel: Kernel) -> None:
    service = WorkspaceService.of(kernel)
    acme = await service.create("acme", "Acme", owner_id=None)
    member = await service.add_member(acme.id, "ann@example.com", "owner", actor_id="test")
    other = await service.add_member(acme.id, "bob@example.com", "viewer", actor_id="test")
    assert kernel.directory is service.directory
    long_lived(kernel)
    assert await kernel.directory.role(acme.id, other.user_id) == "viewer"  # cached from here on
    await service.set_role(acme.id, other.user_id, "admin", actor_id="test")
    assert await kernel.directory.role(acme.id, other.user_id) == "admin"
    await service.archive(acme.id, actor_id=member.user_id)
    assert await kernel.directory.workspace("acme") is None
    await service.restore(acme.id, actor_id=member.user_id)
    found = await kernel.directory.workspace("acme")
    assert found is not None and found.id == acme.id


async def test_a_failed_write_publishes_nothing(kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    service = WorkspaceService.of(kernel)
    acme = await service.create("acme", "Acme", owner_id=None)
    owner = await service.add_member(acme.id, "ann@example.com", "owner", actor_id="test")
    gone = await service.create("gone", "Gone", owner_id=owner.user_id)
    await service.archive(gone.id, actor_id=owner.user_id)
    spy = BusSpy()
    spy.install(kernel, monkeypatch)

    failures: list[tuple[type[Exception], Callable[[], Awaitable[Any]]]] = [
        (ConflictError, lambda: service.create("acme", "Again", owner_id=owner.user_id)),  # taken
        (ConflictError, lambda: service.create("gone", "Again", owner_id=owner.user_id)),  # an archived one's
        (ValidationError, lambda: service.create("Not A Slug", "x", owner_id=owner.user_id)),
        (NotFoundError, lambda: service.create("nobody", "x", owner_id="no-such-user")),  # rolled back
        (ConflictError, lambda: service.add_member(acme.id, "ann@example.com", "admin", actor_id="test")),
        (ConflictError, lambda: service.set_role(acme.id, owner.user_id, "admin", actor_id="test")),  # last owner
        (ConflictError, lambda: service.remove_member(acme.id, owner.user_id, actor_id="test")),  # last owner
        (NotFoundError, lambda: service.update(gone.id, name="x", settings=None, actor_id="test")),  # archived
        (ConflictError, lambda: service.restore(acme.id, actor_id="test")),  # not archived
    ]
    for error, write in failures:
        with pytest.raises(error):
            await write()
    assert spy.take() == []
    assert await _status(kernel, "nobody")() is None  # the workspace row went with the failed owner

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with kernel.workspace_owner.provisioning() as transaction:
            await transaction.create_workspace("half", "Half", owner_id=owner.user_id)
            raise Refused
    assert spy.take() == [] and await _status(kernel, "half")() is None


async def test_provisioning_commits_both_then_publishes(kernel: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = BusSpy()
    spy.install(kernel, monkeypatch)
    spy.probe = _status(kernel, "carol")
    async with kernel.workspace_owner.provisioning() as transaction:
        user = m.User(email="carol@example.com")
        transaction.session.add(user)
        await transaction.session.flush()
        workspace = await transaction.create_workspace("carol", "Carol's workspace", owner_id=user.id)
        with pytest.raises(ConflictError):  # the owner's rules hold inside the transaction too
            await transaction.create_workspace("default", "Taken", owner_id=user.id)
        assert spy.take() == []  # nothing before the commit
    assert spy.take() == [(workspace.id, "active")]
    assert await _role(kernel, workspace.id, user.id)() == "owner"


async def test_the_default_workspace_is_published_by_the_start(tmp_path: Path) -> None:
    async with running_kernel(tmp_path) as kernel:
        default = await kernel.directory.workspace(DEFAULT_WORKSPACE_SLUG)
        assert default is not None
        async with kernel.store.sessionmaker() as session:
            journal = (await session.scalars(select(m.KernelEvent).where(m.KernelEvent.kind == "directory"))).all()
        assert [event.payload["workspace_id"] for event in journal] == [default.id]
    async with running_kernel(tmp_path) as kernel:  # a second start finds workspaces: nothing to do
        async with kernel.store.sessionmaker() as session:
            rows = (await session.scalars(select(m.Workspace.slug))).all()
        assert rows == [DEFAULT_WORKSPACE_SLUG]


async def test_a_service_without_a_kernel_reads_but_writes_nothing(kernel: Kernel, tmp_path: Path) -> None:
    detached = WorkspaceService(kernel.store.sessionmaker)
    with pytest.raises(RuntimeError, match="not attached to a kernel"):
        await detached.create("loose", "Loose", owner_id=None)
    assert await _status(kernel, "loose")() is None
    default = await kernel.store.get_workspace(DEFAULT_WORKSPACE_SLUG)
    assert default is not None and (await detached.get(default.id)).slug == DEFAULT_WORKSPACE_SLUG
    other: Kernel = make_container(tmp_path / "other").kernel()  # attached its own service
    with pytest.raises(RuntimeError, match="another kernel"):
        WorkspaceService.of(kernel).attach(other)


async def test_a_kernel_without_an_owner_says_so() -> None:
    bare: Kernel = KernelContainer().kernel()
    with pytest.raises(RuntimeError, match="no owner of workspace writes"):
        await bare.directory.workspace("default")
    with pytest.raises(RuntimeError, match="no owner of workspace writes"):
        bare.workspace_owner  # noqa: B018


# -- another node --------------------------------------------------------------------------------


async def _two_nodes(stack: AsyncExitStack, tmp_path: Path, **settings: Any) -> tuple[Kernel, Kernel]:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    a = await stack.enter_async_context(running_kernel(tmp_path / "a", database_url=db, **settings))
    b = await stack.enter_async_context(running_kernel(tmp_path / "b", database_url=db, **settings))
    long_lived(b)
    return a, b


def long_lived(kernel: Kernel) -> None:
    """Cached answers (negative ones too) outlive the test: only a message can change them."""
    directory = WorkspaceService.of(kernel).directory
    directory.ttl = directory.negative_ttl = 3600.0


async def _role_change_reaches(node_a: Kernel, node_b: Kernel) -> None:
    service = WorkspaceService.of(node_a)
    acme = await service.create("acme", "Acme", owner_id=None)
    await service.add_member(acme.id, "ann@example.com", "owner", actor_id="test")
    bob = await service.add_member(acme.id, "bob@example.com", "admin", actor_id="test")
    await _wait_for(lambda: _equals(node_b.directory.role(acme.id, bob.user_id), "admin"))
    await service.set_role(acme.id, bob.user_id, "viewer", actor_id="test")
    await _wait_for(lambda: _equals(node_b.directory.role(acme.id, bob.user_id), "viewer"))
    await service.remove_member(acme.id, bob.user_id, actor_id="test")
    await _wait_for(lambda: _equals(node_b.directory.role(acme.id, bob.user_id), None))
    await service.archive(acme.id, actor_id="test")
    await _wait_for(lambda: _equals(node_b.directory.workspace("acme"), None))


async def _equals(answer: Awaitable[Any], expected: Any) -> bool:
    return (await answer) == expected


async def _is(answer: Awaitable[Any], workspace_id: str | None) -> bool:
    found = await answer
    return found is not None and found.id == workspace_id


async def test_another_node_follows_through_the_journal(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        node_a, node_b = await _two_nodes(stack, tmp_path, bus_poll_seconds=0.05)
        await _role_change_reaches(node_a, node_b)


@pytest.mark.redis
async def test_another_node_follows_through_redis(tmp_path: Path, redis_url: str) -> None:
    async with AsyncExitStack() as stack:  # the journal's poll is slowed to an hour: pub/sub alone
        node_a, node_b = await _two_nodes(stack, tmp_path, redis_url=redis_url, bus_poll_seconds=3600.0)
        assert node_b.backends.pubsub.name == "redis"
        await _role_change_reaches(node_a, node_b)


async def test_the_cli_path_reaches_a_running_node(tmp_path: Path) -> None:
    """``automatos admin create`` in another process: its write reaches the server's cache."""
    async with running_kernel(tmp_path / "automatos-data", bus_poll_seconds=0.05) as node:
        long_lived(node)
        service = WorkspaceService.of(node)
        created = one_json_object(await run("admin", "create", "--email", "root@example.com", "--json", cwd=tmp_path))
        default, root = created["workspace_id"], created["user_id"]
        await _wait_for(lambda: _equals(node.directory.role(default, root), "owner"))
        await service.add_member(default, "second@example.com", "owner", actor_id="test")
        await service.set_role(default, root, "member", actor_id="test")
        assert await node.directory.role(default, root) == "member"  # cached for an hour
        again = await run("admin", "create", "--email", "root@example.com", "--json", cwd=tmp_path)
        assert one_json_object(again)["user_id"] == root
        await _wait_for(lambda: _equals(node.directory.role(default, root), "owner"))


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(rsa_key: rsa.RSAPrivateKey) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.publish("rsa-1", rsa_key)
    try:
        yield server
    finally:
        server.stop()


async def test_jwt_first_login_is_published(
    tmp_path: Path, jwks: JWKSServer, rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncExitStack() as stack:
        node_a, node_b = await _two_nodes(stack, tmp_path, bus_poll_seconds=0.05, **settings_for(jwks))
        assert await node_b.directory.workspace("dee") is None  # cached as unknown, for an hour
        spy = BusSpy()
        spy.install(node_a, monkeypatch)
        spy.probe = _status(node_a, "dee")
        everything.EVENTS.clear()
        principal = await login(node_a, sign(claims("user_dee", email="dee@example.com", email_verified=True), rsa_key))
        workspace_id = principal.default_workspace_id
        assert spy.take() == [(workspace_id, "active")]  # once, after the user and workspace committed
        await _wait_for(lambda: _is(node_b.directory.workspace("dee"), workspace_id))  # the message, not the TTL
        assert await node_b.directory.role(workspace_id, principal.id) == "owner"

        async def told() -> bool:
            return ("workspace.created", workspace_id) in [(name, ws) for name, ws, _ in everything.EVENTS]

        await _wait_for(told)
