"""The checked-in contract: ``python -m central.openapi`` rewrites docs/openapi.json from the code.

tests/test_central_contract.py fails when the served /openapi.json differs from the file, so a
change to the contract is always a deliberate, reviewed diff of docs/openapi.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def document() -> dict:
    from central.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Path(tmp) / "contract.db").openapi()


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else CONTRACT
    out.write_text(dumps(document()), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
