"""The gateway route table (deploy/gateway/routes.toml) as typed data."""

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

GATEWAY_DIR = Path(__file__).resolve().parents[1] / "gateway"
ROUTES_FILE = GATEWAY_DIR / "routes.toml"

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
    rate_limited_prefixes: tuple[str, ...]

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
class RouteTable:
    listen: str
    max_body: str
    rate_limit: str
    rate_limit_burst: int
    rate_limit_per_address: str
    rate_limit_per_address_burst: int
    services: tuple[ServiceRoute, ...]

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

    def is_rate_limited(self, path: str) -> bool:
        return any(
            path_has_prefix(path, prefix)
            for service in self.services
            for prefix in service.rate_limited_prefixes
        )

    def with_ports(self, gateway_port: int | None, first_service_port: int | None) -> "RouteTable":
        """The same routes on other loopback ports (to run a second system beside one)."""
        table = self
        if gateway_port is not None:
            table = replace(table, listen=f"127.0.0.1:{gateway_port}")
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
        )
        for name, spec in data["services"].items()
    )
    return RouteTable(
        listen=gateway["listen"],
        max_body=gateway["max_body"],
        rate_limit=gateway["rate_limit"],
        rate_limit_burst=int(gateway["rate_limit_burst"]),
        rate_limit_per_address=gateway["rate_limit_per_address"],
        rate_limit_per_address_burst=int(gateway["rate_limit_per_address_burst"]),
        services=services,
    )
