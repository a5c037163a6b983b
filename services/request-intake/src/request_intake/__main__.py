from c2r_common.cli import run_service_cli
from request_intake.app import ALEMBIC_INI, SERVICE_NAME, create_app
from request_intake.config import get_settings
from request_intake.seed import seed


def main() -> None:
    run_service_cli(
        SERVICE_NAME,
        get_settings,
        create_app,  # type: ignore[arg-type]
        ALEMBIC_INI,
        default_port=8102,
        seed=seed,
    )


if __name__ == "__main__":
    main()
