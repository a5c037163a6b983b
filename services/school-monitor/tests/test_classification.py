"""Giga's classification and the alert rules, as properties."""

from hypothesis import given
from hypothesis import strategies as st

from c2r_common.schemas import ConnectivityStatus
from school_monitor.status.classification import AlertKind, classify, online_alert, speed_alert

speeds = st.floats(min_value=0, max_value=100_000, allow_nan=False)
benchmarks = st.floats(min_value=1, max_value=1_000, allow_nan=False)
statuses = st.sampled_from(list(ConnectivityStatus))


@given(speeds, benchmarks)
def test_classification_follows_the_giga_thresholds(download: float, benchmark: float) -> None:
    status = classify(download, benchmark)
    if download > benchmark:
        assert status is ConnectivityStatus.GOOD
    elif download >= 1:
        assert status is ConnectivityStatus.MODERATE
    else:
        assert status is ConnectivityStatus.BAD


def test_boundaries_are_inclusive_for_moderate() -> None:
    assert classify(20.0, 20.0) is ConnectivityStatus.MODERATE
    assert classify(20.01, 20.0) is ConnectivityStatus.GOOD
    assert classify(1.0, 20.0) is ConnectivityStatus.MODERATE
    assert classify(0.99, 20.0) is ConnectivityStatus.BAD
    assert classify(None, 20.0) is ConnectivityStatus.UNKNOWN


@given(speeds, speeds, benchmarks)
def test_a_faster_school_never_classifies_worse(a: float, b: float, benchmark: float) -> None:
    rank = [ConnectivityStatus.BAD, ConnectivityStatus.MODERATE, ConnectivityStatus.GOOD]
    slow, fast = sorted((a, b))
    assert rank.index(classify(slow, benchmark)) <= rank.index(classify(fast, benchmark))


@given(statuses, statuses)
def test_speed_alerts_only_on_leaving_or_reaching_good(
    previous: ConnectivityStatus, current: ConnectivityStatus
) -> None:
    kind = speed_alert(previous, current)
    known = {ConnectivityStatus.GOOD, ConnectivityStatus.MODERATE, ConnectivityStatus.BAD}
    if previous is ConnectivityStatus.GOOD and current in known - {ConnectivityStatus.GOOD}:
        assert kind is AlertKind.FELL_BELOW_BENCHMARK
    elif current is ConnectivityStatus.GOOD and previous in known - {ConnectivityStatus.GOOD}:
        assert kind is AlertKind.RECOVERED
    else:
        assert kind is None


@given(st.booleans(), st.booleans(), st.booleans())
def test_online_alerts(was_online: bool, is_online: bool, seen_before: bool) -> None:
    kind = online_alert(was_online, is_online, seen_before)
    if was_online and not is_online:
        assert kind is AlertKind.WENT_OFFLINE
    elif not was_online and is_online and seen_before:
        assert kind is AlertKind.RECOVERED
    else:
        assert kind is None
