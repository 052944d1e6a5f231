"""How many examples each fuzz test runs: a quick share in every `make test`, many more under
`make fuzz` (FUZZ_SCALE multiplies every test's count; bench/FUZZ.md records a long run)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(n: int) -> settings:
    """Settings for a fuzz test that runs ``n`` examples in the normal suite."""
    return settings(max_examples=max(1, int(n * FUZZ_SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])
