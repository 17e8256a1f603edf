"""The layers of STYLE.md hold: each module imports only what its layer may use."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "analyzer"

# layer of a module (by its path below analyzer/) -> analyzer modules it may import.
# model and normalize are the shared vocabulary; parsers are pure; frames are the only place
# that builds DataFrames; renderers come last; the CLI may use everything.
RULES: dict[str, set[str]] = {
    "model": {"model"},
    "normalize": {"model", "normalize"},
    "sources": {"model", "normalize", "sources"},
    "received": {"model", "normalize", "received"},
    "logs": {"model", "normalize", "logs"},
    "frames": {"model", "normalize", "frames", "received", "logs"},
    "api": {"model", "normalize", "sources", "received", "logs", "frames", "api", "api_logs"},
    "api_logs": {"model", "normalize", "sources", "logs", "frames", "api_logs"},
    "metrics": {"model", "normalize", "frames", "metrics"},
    "analysis": {
        "model",
        "normalize",
        "sources",
        "received",
        "logs",
        "frames",
        "api",
        "api_logs",
        "metrics",
        "report",
        "analysis",
    },
    "report": {"model", "normalize", "frames", "metrics", "report"},
    "cli": {"*"},
    "__init__": {"*"},
    "__main__": {"*"},
}
# Third-party imports that would break a layer's promise (no pandas in pure parsers).
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "model": {"pandas", "numpy", "socket", "ssl"},
    "normalize": {"pandas", "numpy", "socket"},
    "received": {"pandas", "numpy", "socket", "ssl", "os", "io", "pathlib"},
    "logs": {"pandas", "numpy", "socket", "ssl", "os", "io", "pathlib"},
    "sources": {"pandas"},
    "metrics": {"socket", "ssl"},
    "report": {"socket", "ssl"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "analyzer":  # "from analyzer import api": the module is api
                names.extend(f"analyzer.{a.name}" for a in node.names)
            else:
                names.append(node.module)
    return names


MODULES = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_module_respects_its_layer(path: Path) -> None:
    layer = _layer(path)
    assert layer in RULES, f"{path}: no layer rule for {layer!r}; add one to tests/test_layers.py"
    allowed = RULES[layer]
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "analyzer":
            parts = name.split(".")
            if len(parts) == 1:
                assert "*" in allowed, f"{path} imports the package root"
                continue
            target = parts[1]
            assert "*" in allowed or target in allowed, f"{path} ({layer}) imports {name}"
        else:
            assert top not in FORBIDDEN_THIRD_PARTY.get(layer, set()), (
                f"{path} ({layer}) imports {name}"
            )


def test_rule_catches_a_crossing(tmp_path: Path) -> None:
    bad = ROOT / "received" / "_crossing_probe.py"
    assert not bad.exists()
    fake = tmp_path / "x.py"
    fake.write_text("import pandas\nfrom analyzer.frames import build_frame\n")
    names = _imports(fake)
    assert names == ["pandas", "analyzer.frames"]
    assert "frames" not in RULES["received"]
    assert "pandas" in FORBIDDEN_THIRD_PARTY["received"]
