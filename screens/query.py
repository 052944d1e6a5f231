"""Following a case (办件查询): the number keypad, the citizen's cases, one case's timeline."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens.widgets import PageScreen, act

DIGITS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "-", "0")
LETTER_COLS = 3



class CaseRowButton(ButtonBehavior, BoxLayout):
    """One of the citizen's cases; the whole row opens its timeline."""

    case_no = StringProperty("")
    item = StringProperty("")
    number = StringProperty("")
    date = StringProperty("")
    state = StringProperty("")
    attention = BooleanProperty(False)

    def on_release(self):
        act("open", case_no=self.case_no)


class TimelineStep(BoxLayout):
    """A step of the timeline: a dot on the line, its time, its name and (the applicant's) note."""

    time = StringProperty("")
    label = StringProperty("")
    note = StringProperty("")
    current = BooleanProperty(False)
    first = BooleanProperty(False)
    last = BooleanProperty(False)


class QueryNumberScreen(PageScreen):
    _letters: tuple | None = None  # the letters the pad was built for (None: not built yet)

    def refresh(self, page) -> None:
        tr = App.get_running_app().tr
        digits = self.ids.digits
        if not digits.children:
            for ch in DIGITS:
                digits.add_widget(Factory.QueryKey(text=ch, on_release=lambda b: act("type", text=b.text)))
            self.backspace = Factory.QueryEditKey(on_release=lambda _b: act("backspace"))
            digits.add_widget(self.backspace)
        if page.letters != self._letters:
            self._letters = page.letters
            letters = self.ids.letters
            letters.clear_widgets()
            for ch in page.letters:
                letters.add_widget(Factory.QueryKey(text=ch, on_release=lambda b: act("type", text=b.text)))
            self.clear = Factory.QueryEditKey(on_release=lambda _b: act("clear"))
            letters.add_widget(self.clear)
            # The two pads side by side, row for row.
            rows = max(-(-len(letters.children) // LETTER_COLS), 4)
            for _ in range(rows * LETTER_COLS - len(letters.children)):
                letters.add_widget(Widget())
            digits.rows = letters.rows = rows
        self.backspace.text = "← " + tr("guides.backspace")  # the CJK font has no ⌫ glyph
        self.clear.text = tr("guides.clear")


class QueryMineScreen(PageScreen):
    def refresh(self, page) -> None:
        box = self.ids.rows
        box.clear_widgets()
        for r in page.rows:
            box.add_widget(Factory.CaseRowButton(case_no=r.case_no, item=r.item, number=r.number, date=r.date,
                                                 state=r.state, attention=r.attention))


class QueryTimelineScreen(PageScreen):
    _shown = None

    def refresh(self, page) -> None:
        box = self.ids.supplement
        box.clear_widgets()
        for i, m in enumerate(page.supplement, 1):
            box.add_widget(Factory.KLabel(text=f"{i}.\u00a0{m}"))
        steps = self.ids.steps
        steps.clear_widgets()
        n = len(page.steps)
        for i, s in enumerate(page.steps):
            steps.add_widget(Factory.TimelineStep(time=s.time, label=s.label, note=s.note, current=s.current,
                                                  first=i == 0, last=i == n - 1))
        if (page.title, page.number) != self._shown:  # another case: from the top
            self._shown = (page.title, page.number)
            self.ids.scroll.scroll_y = 1
            self.ids.left.scroll_y = 1
