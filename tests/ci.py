"""Whether the suite runs as CI, and the one way a test skips for want of something the
machine lacks. No imports beyond pytest: conftest.py uses it too."""
import os

import pytest


def under_ci() -> bool:
    """Running as CI (CI=true, as .ci/run sets it): a check that cannot run must fail."""
    return os.environ.get("CI") == "true"


def skip_unless_ci(message: str, ci_message: str = None):
    """Skip the test, except under CI, where it fails (with ci_message if given)."""
    if under_ci():
        pytest.fail(ci_message or message)
    pytest.skip(message)
