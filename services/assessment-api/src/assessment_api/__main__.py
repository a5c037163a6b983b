from assessment_api.app import ALEMBIC_INI, SERVICE_NAME, create_app
from assessment_api.config import get_settings
from assessment_api.seed import seed
from c2r_common.cli import run_service_cli


def main() -> None:
    run_service_cli(
        SERVICE_NAME,
        get_settings,
        create_app,  # type: ignore[arg-type]
        ALEMBIC_INI,
        default_port=8101,
        seed=seed,
    )


if __name__ == "__main__":
    main()
