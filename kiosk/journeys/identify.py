"""Asks for the ID card on behalf of a journey that needs to know who is applying.

The shell runs it when a journey answers NEEDS_IDENTITY; once a card is read the shell ends it and
resumes that journey. OK on its page (or back) gives up: the journey that asked resumes without an
identity and decides for itself (apply goes back to the guide). A card already lying on the reader
is not used by itself: the page asks for it to be lifted and put back.
"""

from __future__ import annotations

from kiosk.i18n import catalogue
from kiosk.journeys.base import Journey
from kiosk.pages import NoticePage


class Identify(Journey):
    name = "identify"

    def __init__(self, shell, words: str = ""):
        super().__init__(shell)
        self.words = words  # whose words ask for the card: "<words>.card" etc., else the general ones

    def _say(self, what: str) -> str:
        key = f"{self.words}.{what}"
        return self.tr(key if self.words and key in catalogue(self.tr.lang) else f"identify.{what}")

    def page(self) -> NoticePage:
        # A card left on the reader is somebody's who signed out: never taken for this person's
        # by itself. Lifted and put back, it is read.
        message = self._say("card_again" if self.shell.card.left else "card")
        if self.shell.takes_citizen_codes:
            message += (" " if self.tr.lang == "en" else "") + self.tr("code.or_code")
        return NoticePage(kind="info", title=self._say("card_title"), message=message)
