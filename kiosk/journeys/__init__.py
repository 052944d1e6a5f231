"""The citizen journeys, by name: adding one is its module, its screen, its strings and a line here.

See docs/architecture.md for the unit and how to add one.
"""

from __future__ import annotations

from kiosk.journeys.apply import Apply
from kiosk.journeys.base import Journey
from kiosk.journeys.certificate import CertificateJourney
from kiosk.journeys.guide import GuideJourney
from kiosk.journeys.home import Home
from kiosk.journeys.identify import Identify
from kiosk.journeys.lifeevent import LifeEventJourney
from kiosk.journeys.maintenance import Maintenance
from kiosk.journeys.query import Query
from kiosk.journeys.rating import Rating
from kiosk.journeys.ticket import Ticket

JOURNEYS: dict[str, type[Journey]] = {j.name: j for j in (
    Home,
    Identify,
    GuideJourney,
    Apply,
    Query,
    CertificateJourney,
    LifeEventJourney,
    Rating,
    Ticket,
    Maintenance,
)}
