"""Giga's classification of a school and the status changes worth an alert (pure rules)."""

from enum import StrEnum

from c2r_common.schemas import ConnectivityStatus

NO_INTERNET_BELOW_MBPS = 1.0


class AlertKind(StrEnum):
    WENT_OFFLINE = "went_offline"
    FELL_BELOW_BENCHMARK = "fell_below_benchmark"
    RECOVERED = "recovered"


def classify(download_mbps: float | None, benchmark_mbps: float) -> ConnectivityStatus:
    """good above the benchmark; moderate from 1 Mbps to the benchmark inclusive; bad
    below 1 Mbps; unknown without data (Giga Maps live layer)."""
    if download_mbps is None:
        return ConnectivityStatus.UNKNOWN
    if download_mbps > benchmark_mbps:
        return ConnectivityStatus.GOOD
    if download_mbps >= NO_INTERNET_BELOW_MBPS:
        return ConnectivityStatus.MODERATE
    return ConnectivityStatus.BAD


def speed_alert(previous: ConnectivityStatus, current: ConnectivityStatus) -> AlertKind | None:
    """Falling from good is an alert, and so is getting back to good; a first
    classification (from unknown) is not a change anyone has to act on."""
    if previous is ConnectivityStatus.GOOD and current in {
        ConnectivityStatus.MODERATE,
        ConnectivityStatus.BAD,
    }:
        return AlertKind.FELL_BELOW_BENCHMARK
    if current is ConnectivityStatus.GOOD and previous in {
        ConnectivityStatus.MODERATE,
        ConnectivityStatus.BAD,
    }:
        return AlertKind.RECOVERED
    return None


def online_alert(was_online: bool, is_online: bool, seen_before: bool) -> AlertKind | None:
    if was_online and not is_online:
        return AlertKind.WENT_OFFLINE
    if not was_online and is_online and seen_before:
        return AlertKind.RECOVERED
    return None


def online_label(is_online: bool) -> str:
    return "online" if is_online else "offline"
