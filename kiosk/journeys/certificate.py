"""My e-certificates (电子证照): the identified person's certificates from the platform, and a
printed proof (证照打印凭证) of one, with its verification code and a QR to check it.

Steps: ``list`` (name, issuer, masked number, dates; expired ones marked) and ``certificate``
(its details and "打印证照凭证"). It needs an identity: started without one, the shell asks for
the ID card first. Every platform call gets a person token in the background call and revokes it
when done, so no token outlives the call; an answer that arrives after the person has gone is
dropped by the shell. Expired certificates get no proof: a proof of one would mislead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import ClassVar

from devices.identity import mask_number
from kiosk import slips
from kiosk.central_client import CentralError, person_session
from kiosk.journeys.base import ABORT, NEEDS_IDENTITY, Journey, Notice, Result, Words
from kiosk.pages import Page, page

log = logging.getLogger("kiosk.journeys.certificate")

# The list draws only the rows in view, so a hundred cost what five do; a business holding more
# licences than that is told how many there are and where to see the rest.
CERTS_SHOWN = 100


@dataclass(frozen=True)
class CertificateRow:
    cert_id: str
    name: str
    issuer: str
    number: str  # masked
    dates: str  # "发证日期 … · 有效期至 …"
    expired: bool = False


@page
@dataclass(frozen=True)
class CertificatesPage(Page):
    screen: ClassVar[str] = "certificates"
    holder: str = ""  # "持证人：李**"
    rows: tuple[CertificateRow, ...] = ()
    status: str = ""
    error: bool = False
    loading: bool = False


@page
@dataclass(frozen=True)
class CertificatePage(Page):
    screen: ClassVar[str] = "certificate"
    title: str = ""
    rows: tuple[tuple[str, str], ...] = ()  # (label, value)
    expired: bool = False
    note: str = ""
    can_print: bool = False


def with_person(central, identity, ask):
    """``ask(token)`` with a person token that lives for this call only (in the thread pool)."""
    with person_session(central, identity.id_number, identity.name) as token:
        return ask(token)


def _day(t: dt.datetime) -> str:
    return t.astimezone().strftime("%Y-%m-%d")


class CertificateJourney(Journey):
    name = "certificate"
    first_step = "list"
    entry = "certificate.entry"
    needs_identity = True  # the person's certificates: gone with the card

    def __init__(self, shell):
        super().__init__(shell)
        self.certs = None  # list of contract Certificate, once answered
        self.total = 0  # how many the person has, of which certs are the first CERTS_SHOWN
        self.loading = False
        self.error: CentralError | None = None
        self.cert = None
        self.asking = False  # a proof is on its way: a second tap asks for nothing

    def start(self) -> Result:
        return NEEDS_IDENTITY if self.shell.session.identity is None else self._load()

    def resume(self) -> Result:
        return self._load() if self.shell.session.identity is not None else ABORT

    def back(self) -> bool:
        if self.step == "certificate":
            self.step, self.cert = "list", None
            return True
        return False

    def expired(self, cert) -> bool:
        return cert.valid_until is not None and cert.valid_until < self.shell.now().astimezone()

    # -- list ---------------------------------------------------------------------------------
    def _load(self) -> Result:
        shell, identity = self.shell, self.shell.session.identity
        self.loading, self.error = True, None

        def done(page) -> Result:
            self.certs, self.total, self.loading = list(page.items), page.total, False
            return None

        def failed(exc: CentralError) -> Result:
            self.loading, self.error = False, exc
            return None

        self.call(lambda: with_person(shell.central, identity,
                                      lambda token: shell.central.certificates(token, limit=CERTS_SHOWN)),
                  done, failed)
        return None

    def do_retry(self) -> Result:
        return self._load() if self.step == "list" and not self.loading else None

    def _dates(self, cert) -> str:
        tr = self.tr
        until = tr("certificate.valid_until", day=_day(cert.valid_until)) if cert.valid_until else tr(
            "certificate.no_expiry")
        return f"{tr('certificate.issued', day=_day(cert.issued_at))}    {until}"

    def page_list(self) -> CertificatesPage:
        tr, identity = self.tr, self.shell.session.identity
        rows = tuple(CertificateRow(c.cert_id, c.name, c.issuer, tr("certificate.number", number=mask_number(c.number)),
                                    self._dates(c), self.expired(c)) for c in self.certs or [])
        if self.error is not None:
            status = self.shell.error_text(self.error)
        elif self.loading:
            status = tr("common.loading")
        elif self.certs is not None and not rows:
            status = tr("certificate.none")
        elif self.certs is not None and self.total > len(rows):
            status = tr("certificate.found_first", shown=len(rows), n=self.total)
        elif self.certs is not None:
            status = tr("certificate.found", n=len(rows))
        else:
            status = ""
        holder = tr("certificate.holder_line", name=identity.masked_name) if identity else ""
        return CertificatesPage(holder=holder, rows=rows, status=status,
                                error=self.error is not None, loading=self.loading)

    # -- one certificate ----------------------------------------------------------------------
    def do_open(self, cert_id: str) -> Result:
        self.cert = next((c for c in self.certs or [] if c.cert_id == cert_id), None)
        if self.cert is not None:
            self.step = "certificate"
        return None

    def page_certificate(self) -> CertificatePage:
        tr, cert = self.tr, self.cert
        expired = self.expired(cert)
        rows = ((tr("slip.certificate_number"), mask_number(cert.number)),
                (tr("slip.issuer"), cert.issuer),
                (tr("certificate.holder"), cert.holder_masked),
                (tr("slip.issued_on"), _day(cert.issued_at)),
                (tr("certificate.valid_label"), _day(cert.valid_until) if cert.valid_until else tr("certificate.no_expiry")))
        printer = self.shell.printing is not None
        note = tr("certificate.expired_note") if expired else tr("certificate.proof_note") if printer else tr(
            "certificate.no_printer")
        return CertificatePage(title=cert.name, rows=rows, expired=expired, note=note,
                               can_print=printer and not expired)

    def do_print(self) -> Result:
        shell, cert, identity = self.shell, self.cert, self.shell.session.identity
        if self.step != "certificate" or self.asking or identity is None or not self.page_certificate().can_print:
            return None
        self.asking = True

        def ask():
            return with_person(shell.central, identity, lambda token: shell.central.certificate_proof(token, cert.cert_id))

        def done(proof) -> Result:
            self.asking = False
            terminal = shell.config.terminal
            c = proof.certificate
            doc = slips.certificate_proof(
                slips.CertificateProof(holder_name=identity.name, holder_id=identity.id_number,
                                       certificate_name=c.name, certificate_number=c.number, issuer=c.issuer,
                                       issued_on=c.issued_at.astimezone().date(),
                                       verification_code=proof.verification_code, verify_url=proof.verify_url),
                self.tr, terminal.hall, terminal.id, shell.now())
            job = shell.printing.submit(doc, f"{terminal.id}-{shell.now():%Y%m%d%H%M%S%f}")
            log.info("certificate proof %s printing (%s)", proof.verification_code, identity.log_form())
            return Notice("progress", Words("print.printing_title"), Words("print.printing"), job=job.id)

        def failed(exc: CentralError) -> Result:
            self.asking = False
            return Notice("error", Words("error.title"), self.shell.error_words(exc))

        self.call(ask, done, failed)
        return Notice("progress", Words("certificate.asking_title"), Words("certificate.asking"))
