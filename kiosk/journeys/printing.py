"""What a citizen is told about a slip they are waiting for: shared by every journey that prints."""

from __future__ import annotations

from kiosk.journeys.base import Notice, Words
from kiosk.print_jobs import Job, JobState

WAITING = {"paper_out": "print.waiting_paper", "cover_open": "print.waiting_cover"}


def in_trouble(job: Job) -> bool:
    return job.state is JobState.FAILED or (bool(job.blocked) and job.state is not JobState.DONE)


def job_text(tr, job: Job | None) -> str:
    """One line on what became of a slip; None: printed and cleared away."""
    if job is None or job.state is JobState.DONE:
        return tr("done.take_receipt")
    if job.state is JobState.FAILED:
        return tr("print.failed")
    if job.blocked:
        return tr(WAITING.get(job.blocked, "print.waiting_printer"))
    return tr("done.printing")


def job_notice(tr, job: Job) -> Notice | None:
    """The notice that follows a slip being printed; None while it is simply printing."""
    if job.state is JobState.DONE:
        return Notice("info", Words("print.done_title"), Words("print.done"))
    if job.state is JobState.FAILED:
        return Notice("error", Words("print.failed_title"), Words("print.failed"))
    if job.blocked:
        return Notice("warning", Words("print.waiting_title"), lambda t: job_text(t, job), job=job.id)
    return None
