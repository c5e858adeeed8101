"""The import picture: no cycles, arrows only downwards, SQLAlchemy only in storage/,
and listeners that call services rather than storage. Read from the source (ast), so a
new import that breaks a rule fails here with the module that made it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("bot", "storage")

# Lower layers first; a module may import its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("storage",),
    (
        "bot.errors",
        "bot.ids",
        "bot.settings",
        "bot.crypto",
        "bot.hostguard",
        "bot.presets",
        "bot.share_keys",
    ),
    ("bot.render", "bot.mail", "bot.slackdata", "bot.forms", "bot.advice", "bot.policy"),
    ("bot.views",),
    ("bot.services", "bot.oauth"),
    (
        "bot.destination_service",
        "bot.sending",
        "bot.reaction_service",
        "bot.follow_service",
        "bot.workspace_service",
        "bot.delivery",
        "bot.policy_service",
        "bot.audit_service",
        "bot.home",
        "bot.share_service",
    ),
    ("bot.listeners", "bot.web", "bot.share_http"),
    (
        "bot.app",
        "bot.check",
        "bot.keys",
        "bot.operator",
        "bot.share_client",
        "bot.cli",
        "bot.__main__",
    ),
)
STORAGE_CALLS = ("storage.db", "storage.deliveries", "storage.destinations", "storage.drafts",
                 "storage.installations", "storage.migrate", "storage.policies",
                 "storage.audit", "storage.follows", "storage.preferences",
                 "storage.share")  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {target for target in imports(path) if target in known and target != name}
        for name, path in known.items()
    }


def layer_of(module: str) -> int:
    if module == "bot":  # the package itself, which imports nothing
        return 0
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_no_import_cycles() -> None:
    edges, seen, cycles = graph(), set[str](), []

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in seen:
            return
        for target in sorted(edges[module]):
            visit(target, [*path, module])
        seen.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert cycles == []


def test_every_arrow_points_down_or_across() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    )
    assert upward == []


@pytest.mark.parametrize("library", ["sqlalchemy", "sqlmodel"])
def test_only_storage_speaks_to_the_database_library(library: str) -> None:
    outside = sorted(
        name
        for name, path in modules().items()
        if not name.startswith("storage")
        and any(i == library or i.startswith(library + ".") for i in imports(path))
    )
    assert outside == []


def test_listeners_call_services_not_storage() -> None:
    direct = sorted(
        f"{name} -> {target}"
        for name, targets in graph().items()
        if name.startswith("bot.listeners")
        for target in targets
        if target in STORAGE_CALLS
    )
    assert direct == []
