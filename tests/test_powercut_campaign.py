"""The power-cut campaign (bench/powercut.py, ``make powercut``) in small: a few SIGKILLs at random
moments of the journeys that write, each followed by a restart on the same folder, then a drain;
nothing lost, nothing duplicated. The platform is a process of its own, the printer the ESC/POS
emulator on a pty, the kiosk the real runtime without its window.

The full campaign (200 cuts over every journey) is ``make powercut``; its report is bench/POWERCUT.md.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.timeout(120)


def _campaign_module():
    spec = importlib.util.spec_from_file_location("powercut", REPO / "bench" / "powercut.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["powercut"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_three_power_cuts_lose_and_duplicate_nothing(tmp_path):
    pc = _campaign_module()
    # A cut while applying, one while rating, one while the platform's commands run; then the drain.
    tally = pc.campaign(3, 5, tmp_path, journeys=("apply", "rating", "command"))
    assert sum(tally.rounds.values()) == 3, tally.rounds
    print(dict(tally.rounds), dict(tally.shown), tally.facts)
    assert not tally.notes, tally.notes
    assert tally.total_lost == 0, tally.lost
    assert tally.total_duplicated == 0, tally.duplicated
    assert tally.facts["cases_committed"] == tally.facts["cases_on_platform"]
    assert tally.facts["ratings_committed"] == tally.facts["ratings_on_platform"]
