"""Full garbage collections wait until nobody is at the kiosk (kiosk/collector.py)."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from kiosk.collector import IdleCollector


@pytest.fixture
def full_collections():
    seen: list[int] = []

    def note(phase, info):
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    thresholds = gc.get_threshold()
    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_full_collections_only_once_the_person_has_gone_or_the_kiosk_is_idle(full_collections):
    now = [0.0]
    shell = SimpleNamespace(session=SimpleNamespace(active=False), sessions_ended=0)
    c = IdleCollector(shell, lambda: now[0])
    c.started()
    assert gc.get_threshold()[2] >= 100_000  # no automatic full collection from now on
    full_collections.clear()

    shell.session.active = True  # someone is here: never, however long
    c.touched()
    for _ in range(200):
        now[0] += 1
        assert not c.tick()
    junk = [[] for _ in range(50_000)]  # plenty of young objects: still no full collection
    del junk
    assert full_collections == []

    shell.session.active, shell.sessions_ended = False, 1  # they have gone: at once
    c.touched()
    assert c.tick() and full_collections
    now[0] += 5
    assert not c.tick()  # not again, until a minute of nobody
    now[0] += 60
    assert c.tick()
    shell.session.active, shell.sessions_ended = True, 2  # gone, and the next person already here
    assert c.tick()
