"""The gateway's nginx config for the container topologies (compose and Kubernetes).

There every service runs in a container of its own, reached by its service name on the
image's port; nginx runs unprivileged, with its files under /tmp, its logs on the
container's output and the merged OpenAPI document in DOCS_DIR (in the gateway image);
and a second server, on a port of its own that is never published, answers nginx's
stub_status for the exporter (prometheus-nginx-exporter). The routes, limits and CORS are
those of the route table, rendered by c2r_deploy.nginx as for the single host.

In front of the gateway sits a proxy (the Kubernetes ingress controller or load balancer,
the gateway's Service being a ClusterIP): nginx takes the client's address from
X-Forwarded-For when, and only when, the request came through a trusted proxy, so the
per-address rate limits count each client instead of limiting everyone behind one proxy
address as one.
"""

import argparse
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from c2r_deploy.nginx import NginxRuntime, render_nginx
from c2r_deploy.routes import RouteTable, load_routes

SERVICE_PORT = 8080  # the Dockerfile's `serve --port`
GATEWAY_PORT = 8000
STATUS_PORT = 8081
# The merged OpenAPI document (`c2r openapi`) and the docs pages' assets: in the gateway
# image (deploy/gateway/Dockerfile), where they are too large for a ConfigMap; outside
# /etc/c2r, where the config is mounted over the image's files.
DOCS_DIR = "/usr/share/c2r-gateway"
CONFIG_PATH = Path(__file__).resolve().parents[1] / "k8s" / "base" / "gateway" / "nginx.conf"
# The private ranges, where a cluster's pods and nodes and compose's Docker networks are;
# narrow them to the ingress controller's range with --trusted-proxy. A client inside them
# could name any address in X-Forwarded-For.
DEFAULT_TRUSTED_PROXIES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

_STATUS_SERVER = f"""
    # stub_status for prometheus-nginx-exporter, on a port only the exporter reaches.
    server {{
        listen {STATUS_PORT};
        access_log off;
        location = /stub_status {{
            stub_status;
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


def container_upstreams(routes: RouteTable) -> dict[str, str]:
    """Each service by its name (the compose service, the Kubernetes Service)."""
    return {service.name: f"{service.name}:{SERVICE_PORT}" for service in routes.services}


def real_ip_config(trusted_proxies: Sequence[str]) -> str:
    """The client's address from X-Forwarded-For, for requests from `trusted_proxies`:
    recursive, so the address is the last one in the chain that is not a trusted proxy
    (what a client puts in front of it is ignored)."""
    if not trusted_proxies:
        return ""
    networks = [str(ipaddress.ip_network(cidr, strict=False)) for cidr in trusted_proxies]
    lines = ["    # The client's address behind the trusted proxies (the rate limits' key)."]
    lines += [f"    set_real_ip_from {network};" for network in networks]
    lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    return "\n".join(lines) + "\n"


def render_container_gateway(
    routes: RouteTable, trusted_proxies: Sequence[str] = DEFAULT_TRUSTED_PROXIES
) -> str:
    runtime = NginxRuntime(
        pid="/tmp/nginx.pid",
        error_log="/dev/stderr",
        access_log="/dev/stdout",
        temp_dir="/tmp",
        user=None,  # started as an unprivileged user already
        listen=f"0.0.0.0:{GATEWAY_PORT}",
        upstreams=container_upstreams(routes),
        docs_dir=DOCS_DIR,
    )
    config = render_nginx(routes, runtime)
    # Its first line names the single host's command; this file has one of its own.
    _, _, config = config.partition("\n")
    config = (
        "# Generated from deploy/gateway/routes.toml by `c2r container-gateway`; do not edit.\n"
        + config
    )
    head, opening, body = config.partition("\nhttp {\n")
    if not opening:
        raise ValueError("the rendered nginx config has no http block")
    config = head + opening + real_ip_config(trusted_proxies) + body
    # The status server goes inside the http block, whose closing brace ends the config.
    head, closing, _ = config.rstrip().rpartition("}")
    if not closing:
        raise ValueError("the rendered nginx config does not end with its http block")
    return head.rstrip() + "\n" + _STATUS_SERVER


def write_container_gateway(
    output: Path, routes: RouteTable, trusted_proxies: Sequence[str] = DEFAULT_TRUSTED_PROXIES
) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_container_gateway(routes, trusted_proxies))
    print(f"wrote {output}")


def add_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`c2r container-gateway`: renders the config that compose and Kubernetes mount."""
    parser = commands.add_parser(
        "container-gateway", help="render the nginx config of the compose and Kubernetes gateway"
    )
    parser.add_argument("--output", default=str(CONFIG_PATH))
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="CIDR",
        help="a proxy whose X-Forwarded-For is believed (repeatable; default: the private "
        "ranges; --trusted-proxy none: believe no proxy)",
    )
    parser.set_defaults(
        handler=lambda args: write_container_gateway(
            Path(args.output), load_routes(), chosen_trusted_proxies(args.trusted_proxy)
        )
    )


def chosen_trusted_proxies(given: list[str] | None) -> Sequence[str]:
    if given is None:
        return DEFAULT_TRUSTED_PROXIES
    return [cidr for cidr in given if cidr != "none"]
