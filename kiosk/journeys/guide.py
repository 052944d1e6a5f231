"""Find a service guide (办事指南) and take it home: search, the guide page, a printed slip.

Steps: ``search`` (the guides page: pinyin/initials/code keyboard, popular topics, results) and
``guide`` (one guide). Started with ``code=`` it opens that guide directly (a scanned code, a life
event), and back then leaves the journey. Guides come from the local catalogue once it holds a
complete copy (so they stay searchable when the network is down); until then from the platform,
and from a partial copy if the platform cannot answer.
"""

from __future__ import annotations

import functools
import logging

from contract.models import SEARCH_COUNT_CAP
from kiosk import guide_text, slips
from kiosk.central_client import CentralError
from kiosk.journeys.base import NEEDS_IDENTITY, Journey, Notice, Result, Start, Words
from kiosk.pages import GuidePage, GuidesPage, ResultItem

log = logging.getLogger("kiosk.guide")

SEARCH_LIMIT = 30
CANDIDATES = 6  # the candidate bar's chips (two rows of three)
MAX_QUERY = 40
HOT_TOPICS = ("shebao", "hukou", "hunyin", "yibao", "yingye", "jiaoyu")


def find_guides(central, catalogue, query: str, limit: int = SEARCH_LIMIT):
    """Local copy when complete; else the platform; else whatever the copy has (thread pool)."""
    if catalogue is not None and catalogue.ready:
        return catalogue.search(query, limit=limit)
    try:
        return central.search_guides(query, limit=limit)
    except CentralError:
        if catalogue is not None and catalogue.count():
            return catalogue.search(query, limit=limit)
        raise


def pinyin_tail(query: str) -> str:
    """The letters at the end of the query: what a candidate would stand for."""
    tail = len(query)
    while tail and query[tail - 1].isascii() and query[tail - 1].isalpha():
        tail -= 1
    return query[tail:]


def find_candidates(catalogue, query: str) -> list:
    """In the pool: Chinese for the query's pinyin tail, from the local copy (none without one)."""
    tail = pinyin_tail(query)
    if not tail or catalogue is None or not catalogue.ready:
        return []
    return catalogue.pinyin.suggest(tail, limit=CANDIDATES)


@functools.cache
def _recognizer():
    from kiosk.handwriting import Recognizer

    return Recognizer()  # the Debian model, loaded once (memory-mapped) and shared by every pad


def recognize(strokes, width: float, height: float) -> list | None:
    """In the pool: the characters the strokes on the pad may be, best first, as candidates that
    stand for no typed letters; None when this terminal cannot recognise handwriting (a missing
    Debian package: staff read which, once per try, rather than a crash report)."""
    from contract.pinyin_input import Candidate
    from kiosk.handwriting import HandwritingUnavailable

    try:
        recognizer = _recognizer()
    except HandwritingUnavailable as exc:
        log.warning("handwriting is unavailable: %s", exc)
        return None
    return [Candidate(ch, 0) for ch, _score in recognizer.recognize(strokes, width, height, n=CANDIDATES)]


def fetch_guide(central, catalogue, item_code: str):
    guide = catalogue.get(item_code) if catalogue is not None else None
    return guide if guide is not None else central.get_guide(item_code)


class GuideJourney(Journey):
    name = "guide"
    first_step = "search"
    entry = "menu.guides"
    on_welcome = True
    identify_words = "apply"  # it asks for the card only to apply

    def __init__(self, shell, code: str = "", query: str = ""):
        super().__init__(shell)
        self.query = query
        self.results = None  # the last page of results
        self.candidates: list = []  # contract.pinyin_input.Candidate for the query's pinyin tail
        self.handwriting = False  # the pad instead of the keyboard; its candidates are characters
        self.pad_round = 0  # a new round clears the pad (after a pick)
        self.loading = False
        self._searching = False
        self.error: CentralError | None = None
        self.guide = None
        self.direct = bool(code)  # opened straight at a guide: back leaves the journey
        self.code = code
        # "申报此事项" before a card was read: a card read while this guide is on screen goes on to apply.
        self.apply_asked = False

    def start(self) -> Result:
        if not self.shell.session.active:
            self.shell.session.begin(None)  # anonymous browsing still times out
        if self.direct:
            self.step = "guide"
            return self._fetch(self.code)
        return self.do_search(self.query)

    def back(self) -> bool:
        self.apply_asked = False
        if self.step == "guide" and not self.direct:
            self.step = "search"
            return True
        return False

    # -- search -------------------------------------------------------------------------------
    def do_search(self, query: str) -> Result:
        self.query, self.loading, self.error = query[:MAX_QUERY], True, None
        if not self._searching:  # else the search in flight starts the next one when it ends
            self._search()
        return None

    def _search(self) -> None:
        """One search at a time: keys typed while it runs are searched together afterwards, so
        a fast typist's keystrokes do not queue up (or compete) behind each other."""
        asked, self._searching = self.query, True

        def finish(found, error: CentralError | None) -> Result:
            self._searching = False
            if asked != self.query:  # typed on meanwhile: this answer is stale, search what is there
                self._search()
            else:
                page, candidates = found if found is not None else (None, [])
                if not self.handwriting:  # on the pad, the candidates are the pad's
                    self.candidates = candidates
                self.results, self.loading, self.error = page, False, error
            return None

        def find():
            catalogue = self.shell.catalogue
            return find_guides(self.shell.central, catalogue, asked), find_candidates(catalogue, asked)

        done, failed = (lambda found: finish(found, None)), (lambda exc: finish(None, exc))
        self.call(find, done, failed)

    def do_type(self, text: str) -> Result:
        return self.do_search(self.query + text)

    def do_backspace(self) -> Result:
        return self.do_search(self.query[:-1])

    def do_clear(self) -> Result:
        return self.do_search("")

    def do_pick(self, index: int) -> Result:
        """A candidate tapped: it replaces the pinyin letters it stands for; the rest stay typed.
        On the pad it is the character drawn: added to the query, and the pad is clear again."""
        if not 0 <= index < len(self.candidates):
            return None
        chosen = self.candidates[index]
        if self.handwriting:
            self.candidates, self.pad_round = [], self.pad_round + 1
            return self.do_search(self.query + chosen.text)
        if self.loading:  # the candidates are the last query's
            return None
        tail = pinyin_tail(self.query)
        return self.do_search(self.query[:len(self.query) - len(tail)] + chosen.text + tail[chosen.consumed:])

    def do_handwriting(self, on: bool) -> Result:
        """The handwriting pad instead of the keyboard, or back."""
        self.handwriting, self.candidates, self.pad_round = on, [], self.pad_round + 1
        return None

    def do_strokes(self, strokes, width: float, height: float) -> Result:
        """What is drawn on the pad so far: its likeliest characters come as candidates."""
        if not self.handwriting:
            return None
        drawn = self.pad_round

        def done(candidates) -> Result:
            if candidates is None:
                return failed(None)
            if self.handwriting and drawn == self.pad_round:  # not a pad cleared since
                self.candidates = candidates
            return None

        def failed(exc) -> Result:
            self.handwriting, self.candidates = False, []
            return Notice("warning", Words("guides.handwriting_title"), Words("guides.handwriting_off"))

        self.call(lambda: recognize(strokes, width, height), done, failed)
        return None

    def do_events(self) -> Result:
        """From a search that found nothing: browse by life event instead."""
        return Start("lifeevent", {})

    def page_search(self) -> GuidesPage:
        tr, page = self.tr, self.results
        if self.error is not None:
            status = self.shell.error_text(self.error)
        elif self.loading:
            status = tr("common.loading")
        elif page is not None and page.total == 0:
            status = "" if self.query else tr("guides.none")  # a query that found nothing gets the help below
        elif page is not None:
            status = tr("guides.found", n=f"{page.total}+" if page.total >= SEARCH_COUNT_CAP else page.total)
        else:
            status = ""
        found = page.items if page else []
        lang = tr.lang

        def row(g) -> ResultItem:  # results carry no translations: 繁體 converts, English shows the Chinese
            return ResultItem(g.item_code, guide_text.in_language(g.name, lang),
                              guide_text.in_language(g.department, lang))

        items = tuple(row(g) for g in found if g.matched != "material")
        mentions = tuple(row(g) for g in found if g.matched == "material")
        nothing = page is not None and page.total == 0 and bool(self.query) and not self.loading
        help_desk = self.shell.config.search.help_desk
        return GuidesPage(
            query=self.query, items=items, mentions=mentions, status=status, error=self.error is not None,
            loading=self.loading, hot=tuple((t, tr(f"hot.{t}")) for t in HOT_TOPICS), nothing=nothing,
            suggestions=tuple((w, w) for w in page.suggestions) if nothing else (),
            topics=self._topics() if nothing else (),
            ask=tr("guides.ask_here", place=help_desk) if help_desk else tr("guides.ask_desk"),
            candidates=tuple(c.text for c in self.candidates), handwriting=self.handwriting,
            pad_round=self.pad_round)

    def _topics(self) -> tuple[tuple[str, str], ...]:
        """What to offer when nothing is found: the platform's popular everyday words (its alias
        table's ``hot``, synced with the catalogue), or the kiosk's own hot topics without a copy."""
        catalogue = self.shell.catalogue
        hot = catalogue.aliases().hot[:8] if catalogue is not None else ()
        return tuple((w, w) for w in hot) or tuple((t, self.tr(f"hot.{t}")) for t in HOT_TOPICS)

    # -- one guide ----------------------------------------------------------------------------
    def do_open(self, code: str) -> Result:
        self.apply_asked = False
        return self._fetch(code)

    def _fetch(self, code: str) -> Result:
        def done(guide) -> Result:
            self.guide, self.step = guide, "guide"
            return None

        def failed(exc: CentralError) -> Result:
            return Notice("error", Words("error.title"), self.shell.error_words(exc))

        self.call(lambda: fetch_guide(self.shell.central, self.shell.catalogue, code), done, failed)
        return None

    def page_guide(self) -> GuidePage:
        tr, guide = self.tr, self.guide
        if guide is None:
            return GuidePage(title=tr("common.loading"))
        text = guide_text.localise(guide, tr)
        rows = [(tr("guide.code"), guide.item_code), (tr("guide.department"), text.department)]
        if guide.detail_complete:
            rows += slips.facts(tr, guide, text)
        return GuidePage(
            code=guide.item_code, title=text.name, rows=tuple(rows),
            materials=tuple(slips.material_line(tr, m) for m in text.materials) if guide.detail_complete else (),
            note="" if guide.detail_complete else tr("guide.ask_window"),
            language_note=tr("guide.chinese_only") if text.chinese_only else "",
            can_print=self.shell.printing is not None,
            # A catalogue-only guide says "ask at the window" instead: there is nothing to tick.
            can_apply=guide.detail_complete and self.shell.outbox is not None)

    def do_print(self) -> Result:
        shell = self.shell
        if self.guide is None or shell.printing is None:
            return None
        terminal = shell.config.terminal
        doc = slips.guide_slip(self.guide, self.tr, terminal.hall, terminal.id, shell.now())
        job = shell.printing.submit(doc, f"{terminal.id}-{shell.now():%Y%m%d%H%M%S%f}")
        return Notice("progress", Words("print.printing_title"), Words("print.printing"), job=job.id)

    def do_apply(self) -> Result:
        if self.step != "guide" or not self.page_guide().can_apply:
            return None
        if self.shell.session.identity is None:
            self.apply_asked = True
            return NEEDS_IDENTITY
        return Start("apply", {"guide": self.guide})

    def resume(self) -> Result:
        return self.on_identified()  # back from identify: given up (stay here) or identified (go on)

    def on_identified(self) -> Result:
        if self.apply_asked and self.step == "guide" and self.shell.session.identity is not None:
            self.apply_asked = False
            return Start("apply", {"guide": self.guide})
        return None
