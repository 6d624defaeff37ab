"""The plugin's modules import each other without cycles, a package's own `__init__` included.

import-linter's `acyclic_siblings` contract (pyproject.toml, run by `make lint`) finds cycles
between the modules and subpackages of one package, but not one that runs through a package and
its own modules (qbo_sync -> extension -> ... -> errors -> qbo_sync). This test reads the same
graph (grimp, import-linter's): every import statement counts, including those inside functions,
and importing a submodule is not counted as importing its package. The emulator has its own test
(tests/conformance/test_import_graph.py).
"""

from __future__ import annotations

import grimp

PACKAGE = "qbo_sync"


def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """For each import that a chain leads back from: the cycle, first module repeated last."""
    found: list[tuple[str, ...]] = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                found.append((module, *back))
    return found


def test_the_graph_sees_the_plugin_modules() -> None:
    graph = import_graph()
    assert "qbo_sync.engine.journal" in graph.find_modules_directly_imported_by(
        "qbo_sync.engine.run"
    )
    # imported inside QBOSync.init_app
    assert "qbo_sync.cli" in graph.find_modules_directly_imported_by("qbo_sync.extension")


def test_no_import_cycles_among_plugin_modules() -> None:
    assert cycles(import_graph()) == []
