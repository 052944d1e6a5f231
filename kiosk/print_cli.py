"""`kiosk print ...`: sample slips for integrators; for staff, receipts waiting and reprints."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path

from devices.manager import DeviceManager, build_driver
from devices.printdoc import Document
from kiosk import slips, staff
from kiosk.config import KioskConfig
from kiosk.i18n import Translator
from kiosk.outbox import Outbox
from kiosk.outbox import default_path as outbox_path
from kiosk.print_jobs import JobState, PrintDispatcher, PrintQueue

SAMPLE_TIME = dt.datetime(2024, 6, 12, 10, 32)
SAMPLE_CASE = slips.CaseReceipt(
    case_number="SL5201022024061200012301",
    item_name="个体工商户设立登记",
    item_code="11520102MB1234567X4000112002",
    applicant_name="\U00020BB7祥云",  # 𠮷: a surname that needs 4 bytes in GB18030
    applicant_id="520102199001011234",
    submitted_at=SAMPLE_TIME,
    materials=("居民身份证（原件已核验）", "个体工商户登记（备案）申请书，1份"),
    to_counter=("经营场所使用证明（复印件）1份",),
    next_steps="窗口将在 3 个工作日内审核材料，结果以短信通知；审核通过后可选择邮寄或到窗口领取营业执照。",
    query_url="https://zwfw.guizhou.gov.cn/q/SL5201022024061200012301",
)
SAMPLE_CERTIFICATE = slips.CertificateProof(
    holder_name="王䶮",
    holder_id="520103198507154321",
    certificate_name="营业执照（个体工商户）",
    certificate_number="92520102MA6H8XYZ1K",
    issuer="贵阳市云岩区市场监督管理局",
    issued_on=dt.date(2024, 6, 12),
    verification_code="7KQ2-M9XD-4F8P",
    verify_url="https://zwfw.guizhou.gov.cn/v/7KQ2M9XD4F8P",
)
SAMPLE_TICKET = slips.QueueTicket(number="A023", service="社保业务（养老保险）", window="3 号窗口",
                                  waiting=5, taken_at=SAMPLE_TIME)
KINDS = ("receipt", "certificate", "ticket", "guide")


def _sample_guide():
    """A guide as the platform sends it (contract.models.Guide), without needing the platform."""
    from contract.models import Guide, Material

    return Guide(name="内地居民婚姻登记（结婚登记）", item_code="11520102009431245B4000112001",
                 department="贵阳市云岩区民政局", detail_complete=True, promised_limit_days=0,
                 legal_limit_days=1, visits=1, fee="不收费", place="云岩区政务服务中心二楼 B12 窗口",
                 hours="周一至周五 9:00-12:00，13:00-17:00（法定节假日除外）",
                 materials=[Material(name="居民户口簿", form="原件", copies=1, required="必要"),
                            Material(name="居民身份证", form="原件", copies=1, required="必要"),
                            Material(name="近期 2 寸半身免冠合影照片", form="原件", copies=3, required="必要")],
                 link="https://zwfw.guizhou.gov.cn/g/11520102009431245B4000112001",
                 updated_at=SAMPLE_TIME)


def sample_document(kind: str, tr: Translator, hall: str = "贵阳市云岩区政务服务中心",
                    terminal_id: str = "KIOSK-0001", now: dt.datetime = SAMPLE_TIME) -> Document:
    """The sample of each slip, shared by the CLI, the tests and the benchmark."""
    if kind == "receipt":
        return slips.case_receipt(SAMPLE_CASE, tr, hall, terminal_id, now)
    if kind == "certificate":
        return slips.certificate_proof(SAMPLE_CERTIFICATE, tr, hall, terminal_id, now)
    if kind == "ticket":
        return slips.queue_ticket(SAMPLE_TICKET, tr, hall, terminal_id, now)
    if kind == "guide":
        return slips.guide_slip(_sample_guide(), tr, hall, terminal_id, now)
    raise ValueError(f"no sample {kind!r}; choose from {', '.join(KINDS)}")


def _printer_table(cfg: KioskConfig, name: str | None) -> tuple[str, dict]:
    if name is None:
        name = next((n for n, t in cfg.devices.items() if t.get("driver") == "escpos"), "printer")
    return name, dict(cfg.devices.get(name, {"driver": "escpos"}))


def sample(cfg: KioskConfig, kind: str, width: int | None, printer: str | None, to: str | None) -> int:
    tr = Translator(cfg.terminal.language)
    doc = sample_document(kind, tr, cfg.terminal.hall, cfg.terminal.id, dt.datetime.now())
    if to:
        # The configured printer's driver and options, writing to a file: exactly its bytes.
        name, table = _printer_table(cfg, printer)
        table.update(connection="file", port=to, **({"width": width} if width else {}))
        driver = build_driver(name, table, lambda _e: None)
        data = driver.job_bytes(doc)
        Path(to).write_bytes(data)
        print(f"{kind}: {len(data)} bytes written to {to}")
        return 0
    if printer not in cfg.devices:
        raise SystemExit(f"no device named {printer!r} in the configuration")
    table = dict(cfg.devices[printer], **({"width": width} if width else {}))
    manager = DeviceManager({printer: table})
    manager.start()
    try:
        done = manager.call(printer, "print", timeout=30, document=doc, job_id=f"sample-{uuid.uuid4().hex[:8]}")
    finally:
        manager.stop()
    print(f"{'OK  ' if done.ok else 'FAIL'} {kind} on {printer}" + ("" if done.ok else f": {done.error}"))
    return 0 if done.ok else 1


def reprint_last(cfg: KioskConfig, send: bool, timeout: float = 30.0) -> int:
    """Queue the last slip again, marked 补打; the running kiosk prints it. ``send``: print it from
    here (the kiosk is not running, so this process may open the printer)."""
    queue = PrintQueue(cfg.var_dir / "print_jobs.db")
    try:
        last = queue.last_done()
        if last is None:
            print("no slip to reprint: nothing was printed recently (finished slips are kept "
                  f"{queue.keep_done_s / 60:.0f} minutes)")
            return 1
        job = queue.add(last.document, last.printer, f"{last.id}-r{uuid.uuid4().hex[:6]}", reprint=True)
        if not send:
            print(f"queued {job.id} ({last.document.kind}) on {job.printer}; the running kiosk prints it")
            return 0
        return _send(cfg, queue, job.id, job.printer, timeout)
    finally:
        queue.close()


def _send(cfg: KioskConfig, queue: PrintQueue, job_id: str, printer: str, timeout: float) -> int:
    manager = DeviceManager({printer: cfg.devices[printer]})
    manager.start()
    mark = slips.reprint_mark(Translator(cfg.terminal.language))
    dispatcher = PrintDispatcher(queue, manager, printer, mark, backoff=(0.5, 2.0))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for event in manager.drain():
                dispatcher.on_event(event)
            dispatcher.pump()
            job = queue.get(job_id)
            if job is None or job.state in (JobState.DONE, JobState.FAILED):
                break
            time.sleep(0.05)
    finally:
        manager.stop()
    job = queue.get(job_id)
    state = job.state.value if job else "done"
    print(f"{job_id}: {state}" + (f" ({job.blocked})" if job and job.blocked else ""))
    return 0 if state == "done" else 1


def _open(cfg: KioskConfig) -> tuple[Outbox, PrintQueue]:
    return (Outbox(outbox_path(cfg.var_dir), cfg.central.terminal_id or cfg.terminal.id),
            PrintQueue(cfg.var_dir / "print_jobs.db"))


def pending(cfg: KioskConfig, as_json: bool) -> int:
    """Receipts that citizens did not get and slips the printer has not finished (kiosk.staff.waiting)."""
    box, queue = _open(cfg)
    try:
        rows = [w.as_dict() for w in staff.waiting(box, queue)]
    finally:
        box.close()
        queue.close()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("nothing waiting: every receipt was handed to the printer and every slip printed")
        return 0
    for r in rows:
        print(f"{r['what']}\t{r['ref']}\t{r['state']}\t{r['minutes']} min\t{r['case_number']}\t{r['item']}")
    if any(r["what"] == "receipt" for r in rows):
        print("print one with: kiosk print reprint REF")
    return 0


def reprint_receipt(cfg: KioskConfig, ref: str, send: bool, timeout: float = 30.0) -> int:
    """Staff: a case's receipt by terminal reference or case number. One never handed to the printer
    prints as the first copy; otherwise a copy marked 补打 REPRINT. The running kiosk prints it
    (``send``: this command prints it, when the kiosk is not running)."""
    ref = "".join(ref.split())
    box, queue = _open(cfg)
    try:
        printer, _table = _printer_table(cfg, None)
        try:
            item, job, first = staff.reprint(box, queue, printer, ref, cfg.terminal.hall, cfg.terminal.id,
                                             cfg.var_dir)
        except KeyError:
            print(f"kiosk print reprint: no receipt for {ref!r} on this terminal (see `kiosk print pending`)",
                  file=sys.stderr)
            return 2
        what = "first copy" if first else "copy marked 补打 REPRINT"
        if not send:
            print(f"queued {job.id} (receipt of {item.terminal_ref}, {what}) on {printer}; "
                  "the running kiosk prints it")
            return 0
        return _send(cfg, queue, job.id, printer, timeout)
    finally:
        box.close()
        queue.close()
