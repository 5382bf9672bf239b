"""Generated sources of two tiny models, compared byte for byte with tests/golden/.
After an intended change of the output, run `python3 tests/golden/refresh.py` and review
the diff."""
import sys

import pytest

from support import TESTS

sys.path.insert(0, str(TESTS / "golden"))
import refresh  # noqa: E402


@pytest.mark.parametrize("name", sorted(refresh.MODELS))
def test_generated_sources_match_golden(name):
    folder = TESTS / "golden" / name
    want = {p.name: p.read_bytes() for p in folder.iterdir()}
    got = refresh.golden_files(name)
    assert sorted(got) == sorted(want)
    for rel in sorted(got):
        assert got[rel] == want[rel], (f"{rel} differs from tests/golden/{name}; if the change is "
                                       f"intended, run python3 tests/golden/refresh.py")
