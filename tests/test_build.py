"""The build (``setup.py``): which modules a regular install compiles with mypyc, and that
those are what runs where a compiled build is expected (CI builds the wheel and runs the
tests against it with ``MAILTLS_EXPECT_COMPILED=1``)."""

from __future__ import annotations

import ast
import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPILED_MODULES = [
    "analyzer.logs.block_feed",
    "analyzer.logs.correlate",
    "analyzer.logs.delivery_rows",
    "analyzer.logs.notices",
    "analyzer.logs.sessions",
    "analyzer.logs.taxonomy",
]


def _setup_list() -> list[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets
        ):
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError("setup.py names no COMPILED modules")


def test_setup_compiles_the_correlators_modules() -> None:
    paths = _setup_list()
    assert [p.removesuffix(".py").replace("/", ".") for p in paths] == COMPILED_MODULES
    assert all((ROOT / p).is_file() for p in paths)


@pytest.mark.parametrize("path", _setup_list())
def test_compiled_modules_import_only_the_standard_library_and_the_package(path: str) -> None:
    """mypyc then needs no third-party stubs at build time (setup.py's premise)."""
    tree = ast.parse((ROOT / path).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - {"__future__", "analyzer"} <= sys.stdlib_module_names
    assert "analyzer" in imported


@pytest.mark.skipif(
    not os.environ.get("MAILTLS_EXPECT_COMPILED"), reason="a plain Python install (editable)"
)
def test_the_modules_that_run_are_compiled() -> None:
    for name in COMPILED_MODULES:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert not module.__file__.endswith(".py"), module.__file__
