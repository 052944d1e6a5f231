"""Where the ID card is, for the session rules: taking the card away ends the identity.

The readers report a card placed (IdentityRead), taken (CardRemoved, also when a reader vanished)
and, asked with ``announce``, what lies on them now. Kept here, without personal data (device
names only): which readers hold a card, which one holds the card of the identified person, and
when that card was lifted. Put back within ``grace_s`` (the shell checks it is the same card number)
the session goes on; otherwise the identity ends. A card left on a reader after the person has
gone is what the welcome page asks to be taken, and "使用此证件" reads it again.

``CardWatch`` is that state; ``CardRules`` the shell's rules on it (a mixin of kiosk.shell.Shell,
kept here so the shell stays the size of what every journey shares).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from devices.events import CardRemoved, Event, IdentityRead, RequestDone
from kiosk.journeys.base import STAY, Notice, Words
from kiosk.journeys.identify import Identify

log = logging.getLogger("kiosk.card")
ANNOUNCE_TIMEOUT_S = 5.0


class CardWatch:
    def __init__(self, grace_s: float, monotonic: Callable[[], float]):
        self.grace_s, self.monotonic = grace_s, monotonic
        self.on: set[str] = set()  # readers with a card on them now
        self.holder = ""  # the reader the identified person's card was read on
        self.lifted_at: float | None = None

    @property
    def left(self) -> bool:
        """A card lies on a reader."""
        return bool(self.on)

    def placed(self, device: str) -> None:
        self.on.add(device)

    def taken(self, device: str) -> None:
        self.on.discard(device)
        if device == self.holder and self.lifted_at is None:
            self.lifted_at = self.monotonic()

    def held(self, device: str) -> None:
        """The identified person's card is on ``device`` (read, or put back in time)."""
        self.holder, self.lifted_at = device, None

    def released(self) -> None:
        """The identity ended: no card is anyone's any more."""
        self.holder, self.lifted_at = "", None

    def grace_over(self) -> bool:
        return self.lifted_at is not None and self.monotonic() - self.lifted_at >= self.grace_s

    def answered(self, device: str, present: bool) -> None:
        """What ``announce`` found; a card found was reported as IdentityRead before this."""
        if not present:
            self.on.discard(device)

    def ask_again(self, devices) -> None:
        """Have the readers report the card left on them (its IdentityRead starts a session)."""
        for device in sorted(self.on):
            if devices is not None and device in devices.workers:
                devices.request(device, "announce", timeout=ANNOUNCE_TIMEOUT_S)


class CardRules:
    """The shell's rules for the ID card (kiosk.shell.Shell mixes them in): a card read begins or
    goes on with a session, a card taken away ends the identity after the grace."""

    def card_event(self, event: Event) -> bool:
        """Handle a reader's event; False: not one of them."""
        if isinstance(event, IdentityRead):
            self.card.placed(event.device)
            self._identified(event.identity, event.device)
        elif isinstance(event, CardRemoved):
            self.card.taken(event.device)  # the identity ends once the grace is over (card_tick)
            self._changed()
        elif isinstance(event, RequestDone) and event.action == "announce":
            if event.ok:
                self.card.answered(event.device, bool(event.result))
                self._changed()
            else:  # the reader could not tell: what it last reported stands
                log.info("device %s: announce failed: %s", event.device, event.error)
        else:
            return False
        return True

    def card_tick(self) -> None:
        if self.card.grace_over():
            self._card_taken()

    def _identified(self, identity, device: str = "") -> None:
        """Someone proved who they are: a card read on ``device``, or a citizen code the platform
        verified (no device: nothing to take away; the session ends by sign-out or idle)."""
        known = self.session.identity
        if known is not None and known.id_number == identity.id_number:
            # The same card number: put back within the grace, or read again. Go on where they were.
            if device:
                self.card.held(device)
            return self._changed()
        if self.session.active and known is not None:
            self.end_session("another card")
        if not self.session.active or self.session.identity is None:
            lang = self.tr.lang
            self.session.begin(identity)
            self.session.language = lang
            self.learn_preferences(identity)  # 长辈模式 the platform keeps for them, applied when it answers
        if device:
            self.card.held(device)
        if isinstance(self.journey, Identify):  # asked for by a journey: it goes on
            self.notice = None
            return self._leave(self.journey)
        if (result := self.journey.on_identified()) is not None:
            self.notice = None
            return self._apply(self.journey, None if result is STAY else result)
        del self.stack[1:]
        self.notice = None
        self._changed()

    def _card_taken(self) -> None:
        """The identified person's card was taken and not put back in time: the identity ends.
        Journeys usable without a card (``on_welcome``, unless ``needs_identity``) stay, as
        anonymous browsing; the rest go, apply among them. The screen says why."""
        keep = tuple(j for j in self.stack[1:] if j.on_welcome and not j.needs_identity)
        lang = self.tr.lang
        self.end_session("card taken away", keep)
        if keep:
            self.session.begin(None)  # still an anonymous session: it times out like one
            self.session.language = lang
        message = Words("session.card_taken_browse" if keep else "session.card_taken")
        self.notice = Notice("info", Words("session.card_taken_title"), message, then="" if keep else "welcome",
                             lang="" if keep else lang)
        self._changed()
