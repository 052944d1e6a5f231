"""The platform's guide search: the kiosk's index (contract.guide_index), kept in step with the
guide store, so the platform and an offline kiosk answer a query alike.

The index is derived data in a private temporary folder: built on the first search, then brought
up to date before each one from the store's change feed (the one kiosks sync from), which costs
one small query when nothing changed. The everyday-word table is the reviewed file
data/search-aliases.json (served at GET /search/aliases); popularity comes from the cases of the
last year, recomputed at most hourly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from contract.guide_index import GuideIndex
from contract.models import Guide, GuidePage, SearchAliases

log = logging.getLogger("central.search")

ALIASES_JSON = Path(__file__).resolve().parent / "data" / "search-aliases.json"
POPULARITY_EVERY_S = 3600.0


def load_aliases(path: Path = ALIASES_JSON) -> SearchAliases:
    """The reviewed table; its version is a hash of the file, so any edit reaches the kiosks."""
    raw = path.read_bytes()
    return SearchAliases.model_validate({**json.loads(raw), "version": hashlib.sha256(raw).hexdigest()[:16]})


class PlatformSearch:
    def __init__(self, store, aliases: SearchAliases, popularity: Callable[[], int] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.store, self.aliases = store, aliases
        self._popularity, self._clock = popularity, clock
        self._popularity_at: float | None = None
        self._lock = threading.Lock()
        self._index: GuideIndex | None = None

    def _open(self) -> GuideIndex:
        folder = tempfile.TemporaryDirectory(prefix="central-search-")
        index = GuideIndex(Path(folder.name) / "index.db")
        weakref.finalize(self, folder.cleanup)
        with index.transaction() as conn:
            index.set_aliases(conn, self.aliases)
        return index

    def refresh(self) -> GuideIndex:
        """The index, with every change the store has made since the last call."""
        with self._lock:
            if self._popularity is not None and (self._popularity_at is None
                                                 or self._clock() - self._popularity_at >= POPULARITY_EVERY_S):
                self._popularity_at = self._clock()
                self._popularity()
            if self._index is None:
                self._index = self._open()
            index = self._index
            since, after = index.meta("since") or "", index.meta("after") or ""
            while True:
                ch = self.store.changes(since, after, 1000)
                if not ch["guides"] and not ch["deleted"]:
                    break
                since, after = ch["next_since"], ch["next_after"]
                index.apply_changes([Guide.model_validate(g) for g in ch["guides"]], ch["deleted"], since, after)
                if not ch["more"]:
                    break
            return index

    def search(self, q: str, limit: int = 20, offset: int = 0, department: str | None = None) -> GuidePage:
        return self.refresh().search(q, limit=limit, offset=offset, department=department)
