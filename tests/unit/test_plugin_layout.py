"""The order of the feature packages that README "Development" draws, on the import graph
bot.devtools.layout measures (test_layout checks that it has no cycle): a feature imports
only features of lower layers, and of them never what registers the feature (its package,
whose `plugin` is its commands, or its commands or jobs); plugins/common imports none."""

from __future__ import annotations

from bot.devtools.layout import feature_of, scan

LAYERS = (
    ("incidents", "roster"),
    ("metrics",),
    ("deploys",),
    ("catalog",),
    ("plans", "reminders", "digest", "export", "intake"),
)
LAYER = {feature: n for n, features in enumerate(LAYERS) for feature in features}


def arrows() -> list[tuple[str, str]]:
    """(importing module, imported module) for every import between plugins modules."""
    return [
        (name, imported)
        for name, module in scan().items()
        if name.startswith("plugins.")
        for imported in module.imports
        if imported.startswith("plugins.")
    ]


def test_every_feature_package_has_its_layer() -> None:
    features = {feature_of(name) for name, _ in arrows()} - {None}
    assert features == set(LAYER)


def test_features_import_only_lower_features_and_never_their_entry_points() -> None:
    wrong = []
    for name, imported in arrows():
        mine, theirs = feature_of(name), feature_of(imported)
        if mine is None or theirs is None or mine == theirs:
            continue
        parts = imported.split(".")
        if LAYER[theirs] >= LAYER[mine] or len(parts) == 2 or parts[2] in ("commands", "jobs"):
            wrong.append((name, imported))
    assert wrong == []


def test_common_imports_no_feature() -> None:
    wrong = [
        (name, imported)
        for name, imported in arrows()
        if name.startswith("plugins.common") and feature_of(imported) is not None
    ]
    assert wrong == []
