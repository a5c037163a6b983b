"""The gateway route table (deploy/gateway/routes.toml) as typed data."""

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

GATEWAY_DIR = Path(__file__).resolve().parents[1] / "gateway"
ROUTES_FILE = GATEWAY_DIR / "routes.toml"

RateLimitKind = Literal["per-agent", "per-address"]
_SIZE_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def size_in_bytes(size: str) -> int:
    """nginx-style sizes ("1m", "512k", "2048") in bytes."""
    unit = size[-1].lower()
    if unit in _SIZE_UNITS:
        return int(size[:-1]) * _SIZE_UNITS[unit]
    return int(size)


@dataclass(frozen=True)
class ServiceRoute:
    name: str
    command: str
    upstream: str  # host:port the service listens on
    env_prefix: str
    prefixes: tuple[str, ...]
    max_body: str
    # Limited per agent (device token, else client address) and, looser, per address.
    rate_limited_prefixes: tuple[str, ...]
    # Limited per client address only: their callers share one key (Giga Meter agents).
    address_rate_limited_prefixes: tuple[str, ...] = ()

    @property
    def host(self) -> str:
        return self.upstream.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.upstream.rsplit(":", 1)[1])

    @property
    def max_body_bytes(self) -> int:
        return size_in_bytes(self.max_body)


@dataclass(frozen=True)
class Cors:
    """Which browser origins may call the API, and what they may send and read."""

    production_origins: tuple[str, ...]
    development_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int


@dataclass(frozen=True)
class RouteTable:
    listen: str
    max_body: str
    rate_limit: str
    rate_limit_burst: int
    rate_limit_per_address: str
    rate_limit_per_address_burst: int
    services: tuple[ServiceRoute, ...]
    header_buffer: str = "8k"
    header_buffers: int = 4
    cors: Cors | None = None
    # Where the embedded gateway serves its own /metrics (host:port; port 0: any free one).
    metrics_listen: str = "127.0.0.1:9180"

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def service_for(self, path: str) -> ServiceRoute | None:
        """The service whose prefix matches `path` (longest prefix wins)."""
        best: tuple[int, ServiceRoute] | None = None
        for service in self.services:
            for prefix in service.prefixes:
                if path_has_prefix(path, prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), service)
        return best[1] if best else None

    @property
    def header_buffer_bytes(self) -> int:
        return size_in_bytes(self.header_buffer)

    def rate_limit_kind(self, path: str) -> RateLimitKind | None:
        """How requests to `path` are rate limited, if they are."""
        service = self.service_for(path)
        if service is None:
            return None
        if any(path_has_prefix(path, p) for p in service.rate_limited_prefixes):
            return "per-agent"
        if any(path_has_prefix(path, p) for p in service.address_rate_limited_prefixes):
            return "per-address"
        return None

    def with_ports(
        self,
        gateway_port: int | None,
        first_service_port: int | None,
        metrics_port: int | None = None,
    ) -> "RouteTable":
        """The same routes on other loopback ports (to run a second system beside one). A
        gateway moved without a metrics port takes any free one for its metrics, so that it
        does not collide with the first system's."""
        table = self
        if gateway_port is not None:
            table = replace(table, listen=f"127.0.0.1:{gateway_port}")
            if metrics_port is None:
                metrics_port = 0
        if metrics_port is not None:
            table = replace(table, metrics_listen=f"127.0.0.1:{metrics_port}")
        if first_service_port is not None:
            services = tuple(
                replace(s, upstream=f"127.0.0.1:{first_service_port + i}")
                for i, s in enumerate(table.services)
            )
            table = replace(table, services=services)
        return table

    def by_name(self, name: str) -> ServiceRoute:
        return next(s for s in self.services if s.name == name)


def path_has_prefix(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


@cache
def load_routes(path: Path = ROUTES_FILE) -> RouteTable:
    data = tomllib.loads(path.read_text())
    gateway = data["gateway"]
    services = tuple(
        ServiceRoute(
            name=name,
            command=spec["command"],
            upstream=spec["upstream"],
            env_prefix=spec["env_prefix"],
            prefixes=tuple(spec["prefixes"]),
            max_body=spec.get("max_body", gateway["max_body"]),
            rate_limited_prefixes=tuple(spec.get("rate_limited_prefixes", ())),
            address_rate_limited_prefixes=tuple(spec.get("address_rate_limited_prefixes", ())),
        )
        for name, spec in data["services"].items()
    )
    cors = data.get("cors")
    return RouteTable(
        listen=gateway["listen"],
        max_body=gateway["max_body"],
        rate_limit=gateway["rate_limit"],
        rate_limit_burst=int(gateway["rate_limit_burst"]),
        rate_limit_per_address=gateway["rate_limit_per_address"],
        rate_limit_per_address_burst=int(gateway["rate_limit_per_address_burst"]),
        services=services,
        header_buffer=gateway.get("header_buffer", "8k"),
        header_buffers=int(gateway.get("header_buffers", 4)),
        metrics_listen=gateway.get("metrics_listen", RouteTable.metrics_listen),
        cors=_cors(cors) if cors else None,
    )


def _cors(spec: dict[str, Any]) -> Cors:
    return Cors(
        production_origins=tuple(spec["production_origins"]),
        development_origins=tuple(spec["development_origins"]),
        allow_methods=tuple(spec["allow_methods"]),
        allow_headers=tuple(spec["allow_headers"]),
        expose_headers=tuple(spec["expose_headers"]),
        max_age=int(spec["max_age"]),
    )
