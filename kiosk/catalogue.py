"""The kiosk's own copy of the guide catalogue: searchable when the network is down.

The copy is a ``contract.guide_index.GuideIndex`` - the same index, query reading and ranking the
platform searches with, so offline answers are the platform's answers. This module adds how the
copy is filled: incremental sync (GET /guides/changes, and the platform's everyday-word table
from GET /search/aliases) that commits its cursor with every page, so a crash or a lost network
resumes where it stopped, and import of a file (a USB stick for a terminal without network).
``ready`` says a complete copy exists (a finished sync or an import); until then the guide
journey prefers the platform. A copy in an older file format is dropped and fetched again (it is
a copy).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from contract.guide_index import GuideIndex, set_meta
from contract.models import Guide
from contract.pinyin_input import Candidates

log = logging.getLogger("kiosk.catalogue")

SYNC_PAGE = 1000  # the most the platform gives per page; fewer, larger commits index faster


class CatalogueError(ValueError):
    """A file to import is bad; nothing of it was imported."""


@dataclass(frozen=True)
class SyncReport:
    changed: int
    deleted: int
    pages: int
    seconds: float


class Catalogue(GuideIndex):
    """The local catalogue at ``path``. Safe from several threads: one connection per thread."""

    def _dropped(self, found: int) -> None:
        log.warning("catalogue %s is in an older format (%s): dropping it; the next sync fetches it again",
                    self.path, found)

    @property
    def ready(self) -> bool:
        """A complete copy exists (a sync ran to its end, or a file was imported)."""
        return self.meta("complete") == "1"

    @functools.cached_property
    def pinyin(self) -> Candidates:
        """Chinese candidates for typed pinyin, from this copy's own words (built on first use)."""
        return Candidates(self)

    def warm(self) -> None:
        """Build now what the first search would otherwise build: the pinyin candidates take
        ~0.6 s for a county's catalogue, and the first citizen to type a letter waited for them."""
        if self.ready:
            self.pinyin.vocabulary()

    @property
    def last_sync(self) -> str | None:
        return self.meta("synced_at")

    def import_jsonl(self, path: str | Path) -> int:
        """Import one Guide per line, all or nothing: a bad line raises CatalogueError naming it.

        An import is a complete catalogue, so it marks the copy ready; a later sync continues
        from the newest updated_at it contains."""
        guides: list[Guide] = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    guides.append(Guide.model_validate_json(line))
                except ValidationError as exc:
                    e = exc.errors()[0]
                    where = ".".join(str(p) for p in e["loc"]) or "(line)"
                    raise CatalogueError(f"{path}: line {lineno}: {where}: {e['msg']}") from None
        with self.transaction() as conn:
            n = self.write(conn, guides)
            newest = max((g.updated_at for g in guides), default=None)
            if newest is not None and (self.meta("since") or "") < newest.isoformat():
                # A sync after an import fetches only what changed since the file was made.
                set_meta(conn, since=newest.isoformat(), after="")
            set_meta(conn, complete="1")
        return n

    def sync(self, client, page: int = SYNC_PAGE) -> SyncReport:
        """Fetch the alias table, then changes since the stored cursor until the platform has no
        more (raises CentralError when it cannot; pages already applied stay applied).

        The next page is fetched while this one is indexed: the platform's time and the kiosk's
        overlap, so a large sync costs about the slower of the two."""
        t0 = time.monotonic()
        aliases = client.search_aliases()
        if aliases.model_dump_json() != self.meta("aliases"):
            with self.transaction() as conn:
                self.set_aliases(conn, aliases)
        since_s = self.meta("since")
        since = dt.datetime.fromisoformat(since_s) if since_s else None
        after = self.meta("after") or ""
        changed = deleted = pages = 0
        with ThreadPoolExecutor(1, thread_name_prefix="catalogue-fetch") as fetcher:
            ahead = fetcher.submit(client.guide_changes, since, after, limit=page)
            while True:
                ch = ahead.result()
                pages += 1
                if ch.more:
                    ahead = fetcher.submit(client.guide_changes, ch.next_since, ch.next_after, limit=page)
                done = {} if ch.more else {"complete": "1", "synced_at": dt.datetime.now(dt.UTC).isoformat()}
                c, d = self.apply_changes(ch.guides, ch.deleted, ch.next_since.isoformat(), ch.next_after, **done)
                changed, deleted = changed + c, deleted + d
                if not ch.more:
                    break
        return SyncReport(changed, deleted, pages, time.monotonic() - t0)


def default_path(var_dir: str | Path) -> Path:
    return Path(var_dir) / "catalogue.db"
