from c2r_common.cli import run_service_cli
from school_monitor.app import ALEMBIC_INI, SERVICE_NAME, create_app
from school_monitor.config import get_settings


def main() -> None:
    run_service_cli(SERVICE_NAME, get_settings, create_app, ALEMBIC_INI, default_port=8103)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
