"""The layout rules of README "Development", checked on the import graph of the code itself:
a new module that breaks them fails here, naming the import."""

from __future__ import annotations

from bot.devtools.layout import core_graph, cycles, feature_graph, scan, violations

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_the_core_has_no_import_cycles() -> None:
    assert cycles(core_graph(scan())) == []


def test_feature_packages_depend_on_each_other_one_way() -> None:
    graph = feature_graph(scan())
    assert {"incidents", "metrics", "deploys", "roster", "digest", "export"} <= set(graph)
    assert cycles(graph) == []


def test_no_core_to_feature_no_transport_in_features_no_commands_across_features() -> None:
    assert violations(scan()) == []


def test_modules_and_functions_stay_small() -> None:
    modules = [m for m in scan().values() if "migrations" not in m.name]
    assert [(m.name, m.lines) for m in modules if m.lines > MAX_MODULE_LINES] == []
    long = [(m.name, f, n) for m in modules for f, n in m.long_functions]
    assert [x for x in long if x[2] > MAX_FUNCTION_LINES] == []
