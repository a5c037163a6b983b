"""Examples of the scoring answers for the OpenAPI document, computed by the engine from
illustrative values, so they are answers the models accept and the formula gives."""

import uuid
from collections.abc import Callable
from typing import Any

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.scoring import engine
from assessment_api.scoring.schemas import Outcome, WhatIfResult

VALUES = {
    "pop_coverage_4g_pct": 62.0,
    "internet_users_pct": 44.0,
    "mobile_broadband_price_gni_pct": 4.8,
    "basic_digital_skills_pct": 14.0,
}
ASSESSMENT_ID = uuid.UUID("6b1f3c2e-9d4a-4f7e-8a21-3c5d7e9f1a2b")


def _what_if() -> dict[str, Any]:
    groups = engine.country_groups(ldc=True, developing=True)
    baseline = engine.score_card(DEFAULT_METHODOLOGY, VALUES, groups=groups)
    values = VALUES | {"internet_users_pct": 60.0}
    card = engine.score_card(DEFAULT_METHODOLOGY, values, groups=groups)
    result = WhatIfResult(
        assessment_id=ASSESSMENT_ID,
        country_iso3="MRT",
        period="2025",
        methodology_version=1,
        changed=["internet_users_pct"],
        baseline=Outcome(overall=baseline.overall, band=baseline.band),
        overall_change=round((card.overall or 0) - (baseline.overall or 0), 2),
        band_changed=card.band is not baseline.band,
        scores=card,
        gaps=engine.gap_report(DEFAULT_METHODOLOGY, values, groups=groups),
    )
    return result.model_dump(mode="json")


EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {"what_if": _what_if}
