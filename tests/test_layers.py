"""The layer rule (docs/architecture.md): screens -> kiosk -> devices <- drivers, kiosk and central
both -> contract, checked on the source."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO


def imports(folder: str) -> list[tuple[str, str]]:
    out = []
    for path in (REPO / folder).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out += [(str(path.relative_to(REPO)), a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.append((str(path.relative_to(REPO)), node.module))
    return out


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("devices", ("kivy", "kiosk", "screens", "drivers", "central")),
        ("drivers", ("kivy", "kiosk", "screens", "central")),
        # A terminal needs only the contract, never the reference server (docs/architecture.md).
        ("kiosk", ("kivy", "screens", "drivers", "central")),
        ("central", ("kivy", "kiosk", "screens", "devices", "drivers")),
        ("contract", ("kivy", "kiosk", "screens", "devices", "drivers", "central")),
    ],
)
def test_imports_run_one_way(folder, forbidden):
    bad = [(f, m) for f, m in imports(folder) if m.split(".")[0] in forbidden and not _allowed(f, m)]
    assert not bad


def _allowed(file: str, module: str) -> bool:
    # The CLI is the composition root: it starts the UI, and the demo harness names emulators.
    if file == "kiosk/cli.py" and module.startswith(("screens.run", "screens.tour")):
        return True
    # ...and it may start the reference server in-process: `kiosk central ...`, and url = "embedded".
    if file in ("kiosk/cli.py", "kiosk/runtime.py", "kiosk/central_cli.py") and module in (
            "central.server", "central.platform"):
        return True
    return file == "kiosk/demo.py" and module.startswith("drivers.") and module.endswith(".emulator")
