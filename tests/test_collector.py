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


ARENAS_CHILD = """
import ctypes, sys, threading
from kiosk.collector import limit_malloc_arenas
if sys.argv[1] == "limit":
    limit_malloc_arenas()
start = threading.Barrier(8)
def work():
    start.wait()  # all at once, as the kiosk's threads are
    keep = [bytearray(50_000) for _ in range(20)]  # from malloc's arenas (below its mmap threshold)
    start.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
fp = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, fp)  # glibc's own account, a <heap nr=...> per arena
libc.fclose(fp)
"""


@pytest.mark.parametrize("limited", [False, True])
def test_the_kiosks_threads_share_two_malloc_arenas(tmp_path, limited):
    """Each thread in a heap of its own kept each heap at its own peak (16 in the soak)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    info = tmp_path / "malloc.xml"
    subprocess.run([sys.executable, "-c", ARENAS_CHILD, "limit" if limited else "free", str(info)],
                   cwd=REPO, check=True, timeout=60)
    heaps = info.read_text().count("<heap nr=")
    if limited:
        assert heaps <= 2, heaps
    else:
        assert heaps > 2, heaps  # what glibc does by itself: this test would see a limit not taken
