"""One rule for the operationIds of every service: `<domain>_<verb>`.

The domain is the route's first tag (`giga-meter` as `giga_meter`); the verb is the
handler's name without the domain's own words, singular or plural (`list_countries` under
`countries` is `countries_list`, `get_assessment` under `assessments` is
`assessments_get`). FastAPI's default (`list_countries_v1_countries_get`) changes with the
path and generates unreadable client methods; these stay as long as the handler's name.
"""

from typing import Any

NO_TAG = "service"


def _domain_words(domain: str) -> set[str]:
    words = set(domain.split("_"))
    singular = {w.removesuffix("s") for w in words} | {
        w.removesuffix("ies") + "y" for w in words if w.endswith("ies")
    }
    return words | singular


def operation_id(route: Any) -> str:
    """The operationId of `route` (a FastAPI route: its `tags` and `name`)."""
    domain = str(route.tags[0]).replace("-", "_") if route.tags else NO_TAG
    words = str(route.name).split("_")
    verb = [w for w in words if w not in _domain_words(domain)] or words[:1]
    return f"{domain}_{'_'.join(verb)}"
