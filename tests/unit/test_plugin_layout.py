"""The features depend on each other in one direction (README, "Development"): a feature
imports only features of lower layers, and of them only what is not chat commands;
plugins/common imports no feature."""

from __future__ import annotations

import ast
from pathlib import Path

import plugins

ROOT = Path(plugins.__file__).parent
LAYERS = (
    ("incidents", "roster"),
    ("metrics",),
    ("deploys",),
    ("catalog",),
    ("plans", "reminders", "digest", "export"),
)
LAYER = {feature: n for n, features in enumerate(LAYERS) for feature in features}
ENTRY_POINTS = ("commands", "jobs")  # what a feature's __init__ exposes as `plugin`


def imports() -> list[tuple[str, str, list[str]]]:
    """(file, importing package, imported module path) for every plugins.* import."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        package = path.relative_to(ROOT).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "plugins" and len(parts) > 1:
                    found.append((str(path.relative_to(ROOT)), package, parts[1:]))
    return found


def test_every_feature_package_has_its_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"common"}
    assert packages == set(LAYER)


def test_features_import_only_lower_features_and_never_their_commands() -> None:
    wrong = [
        (where, ".".join(target))
        for where, package, target in imports()
        if package in LAYER
        and target[0] in LAYER
        and target[0] != package
        and (LAYER[target[0]] >= LAYER[package] or len(target) == 1 or target[1] in ENTRY_POINTS)
    ]
    assert wrong == []


def test_common_imports_no_feature() -> None:
    wrong = [
        (where, ".".join(target))
        for where, package, target in imports()
        if package == "common" and target[0] in LAYER
    ]
    assert wrong == []
