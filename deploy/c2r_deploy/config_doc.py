"""The configuration table of the README, generated from the services' settings classes."""

from pydantic_settings import BaseSettings

from c2r_common.settings import ServiceSettings

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def settings_classes() -> dict[str, type[ServiceSettings]]:
    from assessment_api.config import AssessmentSettings
    from request_intake.config import IntakeSettings
    from school_monitor.config import SchoolMonitorSettings

    return {
        "assessment-api": AssessmentSettings,
        "request-intake": IntakeSettings,
        "school-monitor": SchoolMonitorSettings,
    }


def environment_names(settings_class: type[BaseSettings]) -> list[str]:
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper() for name in settings_class.model_fields]


def _default(settings_class: type[BaseSettings], name: str) -> str:
    field = settings_class.model_fields[name]
    if name == "jwt_secret":  # None here, the well-known one outside production
        return "development secret (refused in production)"
    value = field.get_default(call_default_factory=True)
    return "—" if value is None else f"`{value}`"


def settings_table() -> str:
    rows = ["| variable | service | default | meaning |", "|---|---|---|---|"]
    for service, settings_class in settings_classes().items():
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        for name, field in settings_class.model_fields.items():
            rows.append(
                f"| `{prefix}{name.upper()}` | {service} | {_default(settings_class, name)} "
                f"| {field.description or ''} |"
            )
    return "\n".join(rows)


def update_readme(text: str) -> str:
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{settings_table()}\n{END}{after}"
