"""Request rate limits of the embedded gateway, with nginx's limit_req semantics.

nginx keeps, per key, the requests in excess of the rate (leaking at the rate); a
request that would take the excess over the burst is refused, and with `nodelay` the
ones within it pass at once. The same arithmetic here, so that both gateways refuse the
same requests.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from c2r_deploy.routes import RateLimitKind, RouteTable

_PER_UNIT = {"s": 1.0, "m": 1 / 60}
# Keys are forgotten once their excess has leaked away, past this many (nginx's zone
# is bounded by its size the same way).
_MAX_KEYS = 100_000


def requests_per_second(rate: str) -> float:
    """An nginx rate ("10r/s", "30r/m") in requests per second."""
    count, unit = rate.split("r/")
    return float(count) * _PER_UNIT[unit]


@dataclass
class LeakyBucket:
    rate: float  # requests per second
    burst: int
    clock: Callable[[], float] = time.monotonic
    _excess: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> excess, at

    def excess_with_one_more(self, key: str) -> float:
        """The key's excess if one more request were let through now."""
        now = self.clock()
        excess, at = self._excess.get(key, (-1.0, now))  # a new key's first request: excess 0
        return max(excess - (now - at) * self.rate, -1.0) + 1

    def charge(self, key: str, excess: float) -> None:
        now = self.clock()
        self._excess[key] = (excess, now)
        if len(self._excess) > _MAX_KEYS:
            drained = [k for k, (e, at) in self._excess.items() if e - (now - at) * self.rate <= 0]
            for drained_key in drained:
                del self._excess[drained_key]


class RateLimits:
    """The route table's limits: per agent (device token, else address) and per address."""

    def __init__(self, table: RouteTable) -> None:
        self.per_agent = LeakyBucket(requests_per_second(table.rate_limit), table.rate_limit_burst)
        self.per_address = LeakyBucket(
            requests_per_second(table.rate_limit_per_address), table.rate_limit_per_address_burst
        )

    def allow(self, kind: RateLimitKind, authorization: str | None, address: str) -> bool:
        """Whether the request passes every limit of its kind; only then is it counted in
        them (as nginx counts a request refused by one limit in none)."""
        limits = [(self.per_address, address)]
        if kind == "per-agent":
            limits.append((self.per_agent, authorization or address))
        excesses = [bucket.excess_with_one_more(key) for bucket, key in limits]
        if any(e > bucket.burst for e, (bucket, _) in zip(excesses, limits, strict=True)):
            return False
        for excess, (bucket, key) in zip(excesses, limits, strict=True):
            bucket.charge(key, excess)
        return True
