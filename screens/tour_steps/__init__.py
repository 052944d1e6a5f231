"""The tour, journey by journey: each module's ``script(tour)`` is a generator of steps that leaves
the kiosk where the next one starts (signed in on the personal page, unless it says otherwise).
A new journey adds its module and one line here."""

from __future__ import annotations

from screens.tour_steps import (
    apply,
    certificate,
    codes,
    elder,
    guide,
    handwriting,
    identify,
    idle,
    lifeevent,
    query,
    rating,
    signout,
    staff,
    ticket,
    voice,
)

STEPS = [
    identify.script,
    guide.script,
    apply.script,
    query.script,
    idle.script,
    rating.script,
    ticket.script,
    certificate.script,
    lifeevent.script,
    signout.script,
    codes.script,
    handwriting.script,
    voice.script,
    elder.script,
    staff.script,
]
