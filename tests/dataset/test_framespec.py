"""Frame specifications of the headless command."""

import pytest

from ground_truth.dataset.framespec import parse_frames


@pytest.mark.parametrize(
    ("spec", "frames"),
    [
        ("5", [5]),
        ("1-5", [1, 2, 3, 4, 5]),
        ("1-10:3", [1, 4, 7, 10]),
        ("1-9:4", [1, 5, 9]),
        ("0-1", [0, 1]),
        ("3,1,2-4", [1, 2, 3, 4]),
        (" 7 , 2-3 ", [2, 3, 7]),
    ],
)
def test_valid(spec, frames):
    assert parse_frames(spec) == frames


@pytest.mark.parametrize("spec", ["", "a", "5-1", "1-5:0", "1-", "-3", "1,,2", "4:2", "1-5:x"])
def test_invalid(spec):
    with pytest.raises(ValueError, match="frame range"):
        parse_frames(spec)
