"""The package layers (docs/architecture.md): the kernel ``portal.core`` imports
no domain and no web code; domains (``tenants``, ``documents``) import only the
kernel of ``portal``; tasks import no routes; product code never imports tests;
dev-only process management (``portal.devservices``) is used by the ``portal``
command alone. Every import counts, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("portal", "tenants", "documents", "tasks", "migrations")
# `portal bench ...` loads the benchmark code lazily from tests/benchmarks/.
BENCH_ENTRY = ROOT / "portal" / "cli.py"
DEVSERVICES = ROOT / "portal" / "devservices"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from portal import x` names the submodule x
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if node.module in ("portal", "portal.core")]
    return found


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _violations(packages, refused) -> list[str]:
    bad = []
    for package in packages:
        for path in _modules(package):
            for line, name in _imports(path):
                reason = refused(path, name)
                if reason:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({reason})")
    return bad


def _is(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_kernel_imports_no_domain_and_no_web():
    def refused(path, name):
        if not _is(str(path.relative_to(ROOT).with_suffix("")).replace("/", "."), "portal.core"):
            return None
        for other in ("tenants", "documents", "tasks", "migrations", "tests"):
            if _is(name, other):
                return "the kernel uses no domain"
        if _is(name, "portal") and not _is(name, "portal.core") and name != "portal":
            return "the kernel uses nothing of portal outside portal.core"
        return None

    assert _violations(["portal"], refused) == []


def test_domains_use_only_the_kernel_of_portal():
    def refused(path, name):
        if _is(name, "portal") and not _is(name, "portal.core") and name != "portal":
            return "domains may only use portal.core"
        return None

    assert _violations(["tenants", "documents"], refused) == []


def test_tasks_import_no_routes():
    def refused(path, name):
        for web in ("portal.routes", "portal.web", "portal.app"):
            if _is(name, web):
                return "tasks call services, not routes"
        return None

    assert _violations(["tasks"], refused) == []


def test_product_code_never_imports_tests():
    def refused(path, name):
        if _is(name, "tests") and not (path == BENCH_ENTRY and _is(name, "tests.benchmarks")):
            return "product code must not depend on tests"
        return None

    assert _violations(PRODUCT, refused) == []


def test_only_the_portal_command_manages_local_processes():
    def refused(path, name):
        if _is(name, "portal.devservices") and path != BENCH_ENTRY and DEVSERVICES not in path.parents:
            return "dev-only process management: only portal/cli.py may use it"
        return None

    assert _violations(PRODUCT, refused) == []


@pytest.mark.parametrize("source, expected", [
    ("import tests.factories\n", ["tests.factories"]),
    ("def f():\n    from portal.routes import x\n", ["portal.routes"]),
    ("from portal import audit\n", ["portal", "portal.audit"]),
])
def test_import_scanner_sees_every_import(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert [name for _, name in _imports(path)] == expected
