"""Settings shared by the whole suite.

Hypothesis runs with the `ci` profile under CI=true: no deadlines (a 2-core CI
machine is noisy and a deadline there only measures the noise) and a fixed,
derandomized example stream so that a run is repeatable.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
