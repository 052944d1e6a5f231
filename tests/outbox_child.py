"""A kiosk that submits N cases through its outbox, for the SIGKILL test: run, killed, run again.

``python -m tests.outbox_child URL TERMINAL SECRET OUTBOX N`` enqueues until the outbox holds N
items (a restart continues the count from the outbox, so no submission is made twice by the
kiosk either), sending after each, then sends until nothing is pending and exits 0.
"""

from __future__ import annotations

import sys

from contract.models import CaseSubmission
from kiosk.central_client import CentralClient
from kiosk.outbox import Outbox, send_due


def main(url: str, terminal: str, secret: str, path: str, n: str, item: str) -> int:
    box = Outbox(path, terminal)
    client = CentralClient(url, timeout=(1, 3), retries=2, backoff=0.01, terminal_id=terminal, secret=secret)
    for i in range(len(box.items()), int(n)):
        box.enqueue_case(CaseSubmission(item_code=item, form={"n": str(i)}), "110101199003070012", "张三")
        box.retry_now()
        send_due(box, client, base_backoff=0.01)
    while box.depth():
        box.retry_now()
        send_due(box, client, base_backoff=0.01, limit=100)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
