"""Renders the production gateway's nginx config from the route table."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from c2r_common.api_docs import ASSETS_PATH
from c2r_deploy.gateway_edge import RETRY_AFTER_SECONDS
from c2r_deploy.openapi import ASSETS_FOLDER, gateway_redoc, gateway_swagger_ui
from c2r_deploy.routes import Cors, RouteTable, ServiceRoute


@dataclass(frozen=True)
class NginxRuntime:
    """Where nginx keeps its files: system paths in production, a folder in tests."""

    pid: str = "/run/c2r-gateway.pid"
    error_log: str = "/var/log/nginx/c2r-gateway.error.log"
    access_log: str = "/var/log/nginx/c2r-gateway.access.log"
    temp_dir: str | None = None  # None: nginx's compiled-in temp paths
    user: str | None = "www-data"
    upstreams: Mapping[str, str] = field(default_factory=dict)  # service -> host:port
    listen: str | None = None  # None: the route table's
    # Where the merged OpenAPI document is, written at each release by
    # `c2r openapi --output <docs_dir>/openapi.json`.
    docs_dir: str = "/usr/share/c2r-gateway"
    # Browser origins allowed by CORS; None: the route table's production origins.
    cors_origins: Sequence[str] | None = None


def _problem(status: int, title: str, detail: str) -> str:
    # nginx cannot JSON-escape arbitrary input, so only fixed text and the request id
    # (validated below to a safe alphabet) go into these bodies.
    body = (
        f'{{"type":"about:blank","title":"{title}","status":{status},'
        f'"detail":"{detail}","request_id":"$c2r_request_id"}}'
    )
    return (
        "            default_type application/problem+json;\n"
        f"            return {status} '{body}';\n"
    )


# Status -> (title, detail) of the problem+json bodies nginx answers with itself.
_GATEWAY_ERRORS = {
    400: ("Bad Request", "The request could not be read."),
    404: ("Not Found", "No resource at this path."),
    405: ("Method Not Allowed", "The method is not allowed here."),
    413: ("Content Too Large", "The request body exceeds the gateway limit."),
    414: ("URI Too Long", "The request URI is too long."),
    429: ("Too Many Requests", "Slow down: this client sent too many requests."),
    431: ("Request Header Fields Too Large", "The request headers are too large."),
    500: ("Internal Server Error", "The gateway failed to handle the request."),
    501: ("Not Implemented", "The gateway does not support what the request asks for."),
    502: ("Bad Gateway", "The service did not answer properly; retry later."),
    503: ("Service Unavailable", "The service is unavailable; retry later."),
    504: ("Gateway Timeout", "The service did not answer in time; retry later."),
    505: ("HTTP Version Not Supported", "The HTTP version of the request is not supported."),
}
# nginx's own code for oversized headers, answered as the standard 431.
_NGINX_STATUS_ALIASES = {494: 431}
_ERRORS_PATH = "/_gateway_errors"


def _upstream_name(service: ServiceRoute) -> str:
    return service.name.replace("-", "_")


def _upstream_block(service: ServiceRoute, address: str) -> str:
    return (
        f"    upstream {_upstream_name(service)} {{\n"
        f"        server {address} max_fails=0;\n"
        f"        keepalive 32;\n"
        f"    }}\n"
    )


def _service_locations(service: ServiceRoute, table: RouteTable) -> str:
    per_agent = f"limit_req zone=agent_push burst={table.rate_limit_burst} nodelay;"
    per_address = (
        f"limit_req zone=agent_push_by_address burst={table.rate_limit_per_address_burst} nodelay;"
    )
    blocks = []
    for prefix in service.prefixes:
        directives = [f"client_max_body_size {service.max_body};"]
        if prefix in service.rate_limited_prefixes:
            directives += [per_agent, per_address]
        elif prefix in service.address_rate_limited_prefixes:
            directives.append(per_address)
        directives.append(f"proxy_pass http://{_upstream_name(service)};")
        body = "".join(f"            {line}\n" for line in directives)
        # "= prefix" and "prefix/" so that /v1/schoolsX does not reach school-monitor.
        blocks.append(f"        location = {prefix} {{\n{body}        }}\n")
        blocks.append(f"        location ^~ {prefix}/ {{\n{body}        }}\n")
    return "".join(blocks)


def _error_pages() -> str:
    # Internal URIs rather than named locations: a request nginx could not parse (414, 400)
    # has no URI, and nginx refuses to redirect such a request to a named location.
    pages = [f"        error_page {s} {_ERRORS_PATH}/{s};\n" for s in _GATEWAY_ERRORS]
    pages += [
        f"        error_page {alias} ={status} {_ERRORS_PATH}/{status};\n"
        for alias, status in _NGINX_STATUS_ALIASES.items()
    ]
    return "".join(pages)


def _error_locations() -> str:
    return "".join(
        f"        location = {_ERRORS_PATH}/{status} {{\n"
        f"            internal;\n"
        f"{_problem(status, title, detail)}"
        f"        }}\n"
        for status, (title, detail) in _GATEWAY_ERRORS.items()
    )


def _cors_maps(cors: Cors | None, origins: Sequence[str]) -> str:
    """Variables that are empty (so that add_header sends nothing) unless the request
    comes from an allowed origin, and for the preflight's headers, unless it is one."""
    if cors is None:
        return ""
    allowed = "".join(f'        "{origin}" $http_origin;\n' for origin in origins)
    preflight_only = {
        "c2r_cors_allow_methods": ", ".join(cors.allow_methods),
        "c2r_cors_allow_headers": ", ".join(cors.allow_headers),
        "c2r_cors_max_age": str(cors.max_age),
    }
    preflight_maps = "".join(
        f'    map $c2r_preflight ${name} {{\n        1 "{value}";\n        default "";\n    }}\n'
        for name, value in preflight_only.items()
    )
    return f"""    # CORS: an allowed origin is named back, any other gets no CORS header at all.
    map $http_origin $c2r_cors_origin {{
        default "";
{allowed}    }}
    map $c2r_cors_origin $c2r_cors_expose_headers {{
        "" "";
        default "{", ".join(cors.expose_headers)}";
    }}
    # A preflight: OPTIONS from an allowed origin, naming the method it asks for.
    map "$request_method $c2r_cors_origin $http_access_control_request_method" $c2r_preflight {{
        default 0;
        "~^OPTIONS \\S+ \\S+$" 1;
    }}
{preflight_maps}"""


_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "$c2r_cors_origin",
    "Access-Control-Expose-Headers": "$c2r_cors_expose_headers",
    "Access-Control-Allow-Methods": "$c2r_cors_allow_methods",
    "Access-Control-Allow-Headers": "$c2r_cors_allow_headers",
    "Access-Control-Max-Age": "$c2r_cors_max_age",
}


def _cors_server(cors: Cors | None) -> str:
    if cors is None:
        return ""
    headers = "".join(
        f'        add_header {name} "{value}" always;\n' for name, value in _CORS_HEADERS.items()
    )
    return f"""{headers}        add_header Vary Origin always;
        # Answered here, before any location: the services never see a preflight.
        if ($c2r_preflight) {{
            return 204;
        }}
"""


def _nginx_string(page: str) -> str:
    # One line, quotes escaped: the page is an nginx string.
    page = " ".join(line.strip() for line in page.splitlines() if line.strip())
    return page.replace("\\", "\\\\").replace("'", "\\'")


def _docs_locations(docs_dir: str) -> str:
    return f"""        # The merged OpenAPI document, Swagger UI and ReDoc reading it,
        # their assets from files written with it (`c2r openapi`), none from elsewhere.
        location = /openapi.json {{
            default_type application/json;
            alias {docs_dir}/openapi.json;
        }}
        location = /docs {{
            default_type text/html;
            return 200 '{_nginx_string(gateway_swagger_ui())}';
        }}
        location = /redoc {{
            default_type text/html;
            return 200 '{_nginx_string(gateway_redoc())}';
        }}
        location {ASSETS_PATH}/ {{
            types {{ text/javascript js; text/css css; image/png png; }}
            alias {docs_dir}/{ASSETS_FOLDER}/;
        }}
"""


def _temp_paths(runtime: NginxRuntime) -> str:
    if runtime.temp_dir is None:
        return ""
    return "".join(
        f"    {kind}_temp_path {runtime.temp_dir}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )


def render_nginx(table: RouteTable, runtime: NginxRuntime | None = None) -> str:
    runtime = runtime or NginxRuntime()
    upstreams = "".join(
        _upstream_block(s, runtime.upstreams.get(s.name, s.upstream)) for s in table.services
    )
    locations = "".join(_service_locations(s, table) for s in table.services)
    user = f"user {runtime.user};\n" if runtime.user else ""
    per_address = table.rate_limit_per_address
    origins = runtime.cors_origins
    if origins is None:
        origins = table.cors.production_origins if table.cors else ()
    return f"""# Generated from deploy/gateway/routes.toml by `make gateway`; do not edit.
{user}worker_processes auto;
pid {runtime.pid};
error_log {runtime.error_log} warn;

events {{
    worker_connections 4096;
}}

http {{
    server_tokens off;
    charset utf-8;
    sendfile on;
    keepalive_timeout 65s;
{_temp_paths(runtime)}
    # The request id: the client's if it is short and safe, otherwise nginx's own.
    map $http_x_request_id $c2r_request_id {{
        "~^[A-Za-z0-9._:-]{{1,128}}$" $http_x_request_id;
        default $request_id;
    }}
    # Native agents are rate limited per device token (clients without one per address),
    # Giga Meter agents, whose one key every device of a build shares, per address only.
    map $http_authorization $c2r_client_key {{
        "" $binary_remote_addr;
        default $http_authorization;
    }}
    limit_req_zone $c2r_client_key zone=agent_push:20m rate={table.rate_limit};
    limit_req_zone $binary_remote_addr zone=agent_push_by_address:10m rate={per_address};
    limit_req_status 429;
    # Retry-After on the gateway's own 429 only (a service's 503 brings its own).
    map $status $c2r_retry_after {{
        429 {RETRY_AFTER_SECONDS};
        default "";
    }}
{_cors_maps(table.cors, origins)}
    log_format c2r_json escape=json '{{"ts":"$time_iso8601","service":"gateway",'
        '"request_id":"$c2r_request_id","method":"$request_method","path":"$uri",'
        '"status":$status,"bytes":$body_bytes_sent,"duration_s":$request_time,'
        '"upstream":"$upstream_addr","upstream_s":"$upstream_response_time"}}';
    access_log {runtime.access_log} c2r_json;

{upstreams}
    server {{
        listen {runtime.listen or table.listen};
        client_max_body_size {table.max_body};
        large_client_header_buffers {table.header_buffers} {table.header_buffer};

        add_header X-Request-ID $c2r_request_id always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Referrer-Policy no-referrer always;
        add_header Cross-Origin-Resource-Policy same-site always;
        add_header Retry-After $c2r_retry_after always;
{_cors_server(table.cors)}
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Request-ID $c2r_request_id;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_hide_header X-Request-ID;
        proxy_connect_timeout 3s;
        proxy_send_timeout 60s;
        proxy_read_timeout 60s;
        # A request whose pooled connection the service had closed is sent once more on a
        # new one (nginx retries a cached connection even with one server); only
        # idempotent methods: non_idempotent is deliberately not listed.
        proxy_next_upstream error;
        proxy_next_upstream_tries 2;

{_error_pages()}
        location = /healthz {{
            default_type application/json;
            return 200 '{{"status":"ok","service":"gateway"}}';
        }}
{_docs_locations(runtime.docs_dir)}
{locations}
        # Anything else — including the services' /metrics — is not routed.
        location / {{
            return 404;
        }}

{_error_locations()}    }}
}}
"""
