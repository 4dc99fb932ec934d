"""The import rules of docs/architecture.md that import-linter cannot express, checked over the
source (AST, nothing imported):

* no module imports another module's ``_private`` name (``from x import _name``), nor reaches
  one through a module it imported (``x._name``): a name another module needs is public, with a
  docstring, in the module that owns it;
* imports sit at the top of a module: an import inside a function is allowed only on a line
  carrying ``# cycle-breaker: <why>`` (a service scheduling its own Celery task, an
  ``AppConfig.ready`` that needs the app registry, a development-only package).

The layering itself (which package may import which) is ``.importlinter``, checked by
``lint-imports`` before the tests run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the production packages (the tests, scripts and benchmarks are tools around them)
PACKAGES = ("core", "realtime", "notifications", "commerce", "auctions", "delivery", "chat", "simulator")
MARKER = "# cycle-breaker:"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: list[str]


def _modules(packages=PACKAGES) -> list[Module]:
    out = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            text = path.read_text()
            out.append(Module(".".join(parts), path, ast.parse(text), text.splitlines()))
    return out


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _project_module(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in PACKAGES


def _is_module_file(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package of the project (not a class or function)."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def private_imports(modules: list[Module]) -> list[str]:
    """``"path:line: imports <module>.<_name>"`` for every private name taken from another module."""
    found = []
    for mod in modules:
        aliases: dict[str, str] = {}  # local name -> imported project module
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and _project_module(node.module):
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{mod.path.relative_to(ROOT)}:{node.lineno}: imports {node.module}.{alias.name}")
                    elif _is_module_file(f"{node.module}.{alias.name}"):
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _project_module(alias.name) and _is_module_file(alias.name):
                        aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        for node in ast.walk(mod.tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and _is_private(node.attr)):
                found.append(f"{mod.path.relative_to(ROOT)}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}")
    return found


def function_level_imports(modules: list[Module]) -> tuple[list[str], list[str]]:
    """``(unmarked, marked)``: imports inside a function without / with a cycle-breaker comment."""
    unmarked, marked = [], []

    def walk(mod: Module, node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                text = mod.lines[child.lineno - 1:child.end_lineno]
                where = f"{mod.path.relative_to(ROOT)}:{child.lineno}: {text[0].strip()}"
                (marked if any(MARKER in line for line in text) else unmarked).append(where)
            walk(mod, child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    for mod in modules:
        walk(mod, mod.tree, False)
    return unmarked, marked


@pytest.fixture(scope="module")
def modules() -> list[Module]:
    return _modules()


def test_no_module_imports_another_modules_private_name(modules):
    assert private_imports(modules) == []


def test_imports_sit_at_the_top_of_a_module_unless_marked_as_a_cycle_breaker(modules):
    unmarked, marked = function_level_imports(modules)
    assert unmarked == []
    for line in marked:  # the marker says why: "# cycle-breaker: <why>"
        assert line, line


def test_the_checks_catch_what_they_are_for(tmp_path):
    """Both checks find a private import, a private attribute and an unmarked local import."""
    source = (
        "from commerce.orders.services import _record\n"
        "from commerce.orders import services\n"
        "services._move_locked\n"
        "def f():\n"
        "    import core.models\n"
        "    from core import hooks  # cycle-breaker: an example\n"
    )
    mod = Module("example", ROOT / "example.py", ast.parse(source), source.splitlines())
    assert [line.split(": ", 1)[1] for line in private_imports([mod])] == [
        "imports commerce.orders.services._record", "uses commerce.orders.services._move_locked"]
    unmarked, marked = function_level_imports([mod])
    assert [line.split(": ", 1)[1] for line in unmarked] == ["import core.models"]
    assert len(marked) == 1
