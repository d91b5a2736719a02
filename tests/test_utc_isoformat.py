"""utc_isoformat writes exactly what `ensure_utc(when).isoformat()` writes, faster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from core import clock
from core.clock import ensure_utc, utc_isoformat

zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30)), None]
)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zones)
def test_it_matches_isoformat_for_any_time_and_zone(when: datetime, zone: timezone | None) -> None:
    when = when.replace(tzinfo=zone)
    assert utc_isoformat(when) == ensure_utc(when).isoformat()


def test_whole_seconds_have_no_fraction_and_small_years_are_padded() -> None:
    assert utc_isoformat(datetime(2025, 1, 6, 9, 0, tzinfo=UTC)) == "2025-01-06T09:00:00+00:00"
    assert utc_isoformat(datetime(999, 1, 6, 9, 5, 7, 5, tzinfo=UTC)) == (
        "0999-01-06T09:05:07.000005+00:00"
    )


def test_the_minutes_it_remembers_stay_bounded() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for minute in range(clock._MINUTES_KEPT + 10):
        when = start + timedelta(minutes=minute, seconds=1)
        assert utc_isoformat(when) == when.isoformat()
    assert len(clock._minutes) <= clock._MINUTES_KEPT
