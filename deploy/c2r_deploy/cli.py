"""`c2r`: run the embedded default, print dev tokens, render the gateway and OpenAPI."""

import argparse
import os
from pathlib import Path

from c2r_common.auth import mint_token
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from c2r_deploy import backup, containers
from c2r_deploy.nginx import render_nginx
from c2r_deploy.routes import GATEWAY_DIR, load_routes


def _token(args: argparse.Namespace) -> None:
    countries = args.countries.replace(",", " ").split() if args.countries else None
    print(
        mint_token(
            os.environ.get("C2R_TOKEN_SECRET", DEVELOPMENT_JWT_SECRET),
            subject=args.subject,
            scopes=args.scopes.replace(",", " ").split(),
            countries=countries,
            ttl_seconds=args.ttl,
        )
    )


def _run(args: argparse.Namespace) -> None:
    from c2r_deploy.embedded import run_embedded

    table = load_routes().with_ports(args.port, args.service_ports, args.metrics_port)
    run_embedded(table, Path(args.data_dir))


def _migrate(args: argparse.Namespace) -> None:
    from c2r_deploy.embedded import migrate

    table = load_routes()
    for service in table.services:
        migrate(table, service, Path(args.data_dir).resolve())
        print(f"{service.name}: migrations at head")


def _render(args: argparse.Namespace) -> None:
    config = render_nginx(load_routes())
    Path(args.output).write_text(config) if args.output else print(config, end="")


def _openapi(args: argparse.Namespace) -> None:
    from c2r_deploy.openapi import ASSETS_FOLDER, gateway_openapi, write_docs

    output = Path(args.output)
    write_docs(output, gateway_openapi(load_routes()))
    print(f"wrote {output} and the docs pages' assets in {output.parent / ASSETS_FOLDER}")


def _config_doc(args: argparse.Namespace) -> None:
    from c2r_deploy.config_doc import update_readme

    readme = Path(args.readme)
    readme.write_text(update_readme(readme.read_text()))
    print(f"updated the settings table in {readme}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="c2r", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the whole system on the embedded default")
    run.add_argument("--data-dir", default="data")
    run.add_argument("--port", type=int, default=None, help="gateway port (default 8000)")
    run.add_argument(
        "--service-ports", type=int, default=None, help="first port of the services (8101)"
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="port of the gateway's /metrics (default 9180; any free one with --port)",
    )
    run.set_defaults(handler=_run)

    migrate = commands.add_parser("migrate", help="migrate the embedded default's databases")
    migrate.add_argument("--data-dir", default="data")
    migrate.set_defaults(handler=_migrate)

    token = commands.add_parser("token", help="print a token the embedded default accepts")
    token.add_argument("--scopes", default="admin", help='e.g. "schools:read schools:write"')
    token.add_argument("--countries", default="", help="ISO alpha-3 codes, e.g. RWA")
    token.add_argument("--subject", default="developer")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(handler=_token)

    gateway = commands.add_parser("gateway", help="render the nginx config")
    gateway.add_argument("--output", default=str(GATEWAY_DIR / "nginx.conf"))
    gateway.set_defaults(handler=_render)
    containers.add_command(commands)
    backup.add_commands(commands)

    openapi = commands.add_parser("openapi", help="write the merged OpenAPI document")
    openapi.add_argument("--output", default="build/openapi.json")
    openapi.set_defaults(handler=_openapi)

    config_doc = commands.add_parser("config-doc", help="regenerate the README settings table")
    config_doc.add_argument("--readme", default="README.md")
    config_doc.set_defaults(handler=_config_doc)

    args = parser.parse_args()
    args.handler(args)
