"""`kiosk doctor`: the checks of kiosk/doctor.py as a table or JSON; exit 1 if any failed."""

from __future__ import annotations

import json

from devices.codes import printable
from kiosk import doctor


def doctor_cmd(config: str, as_json: bool, wait: float, max_skew_s: float, min_free_mb: int) -> int:
    results = doctor.run(config, wait=wait, max_skew_s=max_skew_s, min_free_mb=min_free_mb)
    if as_json:
        print(json.dumps({"ok": not doctor.failed(results), "checks": doctor.as_dicts(results)},
                         ensure_ascii=False, indent=1))
    else:
        width = max(len(r.check) for r in results)
        print(f"{'check':{width}}  result  detail")
        for r in results:
            print(f"{r.check:{width}}  {r.result.upper():6}  {printable(r.detail, 300)}")
    return 1 if doctor.failed(results) else 0
