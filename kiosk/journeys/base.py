"""The journey unit: one thing a citizen comes to do, as a small class the shell runs.

A journey keeps its own state and shows one page at a time (its ``step``). Touches reach it as
actions by name (``act("open", code=...)`` calls ``do_open``); an unknown action or step fails
loudly. What an action means for the rest of the kiosk is its result:

- ``None``: stay; the shell redraws ``page()``.
- ``Start(name, **args)``: run another journey on top of this one (back returns here).
- ``FINISH`` / ``ABORT``: this journey is over; the one below it shows again. ``HOME``: every
  journey is over (the personal page, or welcome).
- ``NEEDS_IDENTITY``: run the identify journey first, then call ``resume()`` here (with or
  without an identity: the citizen may have given up). A card read later, while this journey is
  on top, reaches ``on_identified()``.
- ``Notice(...)``: an overlay above the page (a notice never enters the way back).

Background calls go through ``self.call(fn, on_done, on_error)``: the shell drops the answer if
this journey has left the stack or the session has changed by then, so an answer about one citizen
never reaches the next one's screen. Their callbacks return results like actions do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from kiosk.pages import Page

if TYPE_CHECKING:
    from kiosk.shell import Shell


class UnknownStep(LookupError):
    """A journey was asked for an action or a page it does not have (a bug, never a citizen's doing)."""


@dataclass(frozen=True)
class Start:
    journey: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finish:
    why: str  # "done" | "abort"


FINISH = Finish("done")
ABORT = Finish("abort")
HOME = Finish("home")


@dataclass(frozen=True)
class NeedsIdentity:
    pass


NEEDS_IDENTITY = NeedsIdentity()


@dataclass(frozen=True)
class Stay:
    pass


STAY = Stay()


class Words:
    """Text kept as a message id and its values, put into words when drawn: a notice made in one
    language shows in another after a switch."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, **values: Any):
        self.key, self.values = key, values

    def __call__(self, tr) -> str:
        return tr(self.key, **self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Words) and (self.key, self.values) == (other.key, other.values)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Words({self.key!r}, **{self.values!r})"


# A notice's title and message: Words, or any callable that words it for a translator (an error
# from the platform: kiosk.shell.Shell.error_words); plain text stays as it is.
Text = str | Callable[[Any], str]


@dataclass(frozen=True)
class Notice:
    kind: str  # info | warning | error | progress
    title: Text
    message: Text
    then: str = ""  # after OK: "" back to the page, "home", or "welcome"
    job: str = ""  # a print job this notice follows
    # Drawn in this language rather than the screen's: "signed out" in the person's language, while
    # the page under it is the next person's (the terminal's language). A switch drops it.
    lang: str = ""


Result = Start | Finish | NeedsIdentity | Stay | Notice | None


class Journey:
    name: ClassVar[str] = ""
    first_step: ClassVar[str] = ""
    # A button on the personal page (and with ``on_welcome`` on the welcome page too): the message
    # ids of its title and of a line under it (``<entry>_sub``, may be absent).
    entry: ClassVar[str] = ""
    on_welcome: ClassVar[bool] = False
    # It shows or holds the identified person's data: taking the card away ends it (kiosk/card.py).
    needs_identity: ClassVar[bool] = False
    # Whose words the identify journey uses when this journey asks for the card ("<words>.card",
    # "<words>.card_title", "<words>.card_again"); empty: the general ones.
    identify_words: ClassVar[str] = ""

    def __init__(self, shell: Shell, **args: Any):
        self.shell = shell
        self.args = args
        self.step = self.first_step

    @property
    def tr(self):
        return self.shell.tr

    def start(self) -> Result:
        """Called once when the journey is pushed; may start background work."""
        return None

    def resume(self) -> Result:
        """Called when a journey started on top of this one (identify) has finished."""
        return None

    def back(self) -> bool | Result:
        """Go one step back inside the journey (True); False: the journey itself is left; or a result."""
        return False

    def on_identified(self) -> Result:
        """A card was read while this journey is on top and nobody asked for it: None lets the
        shell open the personal page; STAY keeps this journey (redrawn for the person)."""
        return None

    def act(self, action: str, **kw: Any) -> Result:
        handler = getattr(self, f"do_{action}", None)
        if handler is None:
            raise UnknownStep(f"journey {self.name!r} has no action {action!r}")
        return handler(**kw)

    def page(self) -> Page:
        builder = getattr(self, f"page_{self.step}", None)
        if builder is None:
            raise UnknownStep(f"journey {self.name!r} has no step {self.step!r}")
        return builder()

    def tick(self) -> Result:
        """On the UI clock, for a journey waiting on something other than a call (every journey on
        the stack is ticked)."""
        return None

    def on_job(self, job) -> Result:
        """A print job changed state (every journey on the stack hears it)."""
        return None

    def on_session_end(self) -> None:
        """The person is leaving (sign-out, idle, another card): finish what must not be lost."""

    def call(self, fn: Callable[[], Any], on_done: Callable[[Any], Result],
             on_error: Callable[[Exception], Result]) -> None:
        self.shell.call(self, fn, on_done, on_error)
