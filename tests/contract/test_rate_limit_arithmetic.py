"""The embedded gateway's rate limits count as nginx's limit_req does (burst, nodelay)."""

from dataclasses import replace

from c2r_deploy.ratelimit import LeakyBucket, RateLimits, requests_per_second
from c2r_deploy.routes import load_routes


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def take(bucket: LeakyBucket, key: str) -> bool:
    excess = bucket.excess_with_one_more(key)
    if excess > bucket.burst:
        return False
    bucket.charge(key, excess)
    return True


def test_rates_read_as_nginx_writes_them() -> None:
    assert requests_per_second("10r/s") == 10
    assert requests_per_second("30r/m") == 0.5


def test_a_new_key_passes_its_burst_and_one_more_then_waits_for_the_leak() -> None:
    clock = Clock()
    bucket = LeakyBucket(rate=10, burst=3, clock=clock)
    assert [take(bucket, "a") for _ in range(5)] == [True, True, True, True, False]
    assert take(bucket, "b")  # keys are counted apart
    clock.now += 0.1  # one request's worth leaks away at 10 r/s
    assert [take(bucket, "a") for _ in range(2)] == [True, False]
    clock.now += 60  # fully drained: the whole burst again
    assert [take(bucket, "a") for _ in range(5)] == [True, True, True, True, False]


def test_a_request_refused_by_one_limit_counts_in_none() -> None:
    table = replace(
        load_routes(),
        rate_limit="1r/m",
        rate_limit_burst=1,
        rate_limit_per_address="1r/m",
        rate_limit_per_address_burst=3,
    )
    limits = RateLimits(table)
    assert [limits.allow("per-agent", "Bearer one", "10.0.0.1") for _ in range(3)] == [
        True,
        True,
        False,
    ]
    # The refused request did not use the address's allowance: two more devices pass.
    assert limits.allow("per-agent", "Bearer two", "10.0.0.1")
    assert limits.allow("per-agent", "Bearer three", "10.0.0.1")
    assert not limits.allow("per-agent", "Bearer four", "10.0.0.1")
    # Per address only: the key plays no part.
    assert limits.allow("per-address", "Bearer one", "10.0.0.2")
