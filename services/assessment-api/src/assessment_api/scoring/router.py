from fastapi import APIRouter

from assessment_api.assessments.dependencies import ReadableAssessment
from assessment_api.connectivity.reader import SchoolMonitorDep
from assessment_api.scoring import service
from assessment_api.scoring.schemas import (
    AssessmentGaps,
    AssessmentScores,
    WhatIfIn,
    WhatIfResult,
)
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses

router = APIRouter(
    prefix="/v1/assessments/{assessment_id}",
    tags=["scores"],
    responses=problem_responses(401, 403, 404),
)


@router.get(
    "/scores",
    response_model=AssessmentScores,
    summary="Indicator, pillar and overall scores with the UMC band",
    description="While the assessment is open, 'schools connected' is read live from "
    "school-monitor; if it is slow or down the indicator is marked unavailable with the "
    "reason and the rest is still scored.",
)
async def get_scores(
    assessment: ReadableAssessment, db: SessionDep, reader: SchoolMonitorDep
) -> AssessmentScores:
    return await service.scores(db, assessment, reader)


@router.get(
    "/gaps",
    response_model=AssessmentGaps,
    summary="Indicators short of target, ranked, with phase, SG1 Question and interventions",
)
async def get_gaps(
    assessment: ReadableAssessment, db: SessionDep, reader: SchoolMonitorDep
) -> AssessmentGaps:
    return await service.gaps(db, assessment, reader)


@router.post(
    "/what-if",
    response_model=WhatIfResult,
    summary="Scores, band and gaps with hypothetical indicator values (nothing is stored)",
    description="Which intervention moves the band? The hypothetical values replace the "
    "assessment's own (null: as if there were none) and the assessment is scored as "
    "GET /scores would score it, beside the scores it has now. The values are checked as an "
    "entry would be: a 422 names each bad field. Needs only assessments:read.",
    responses=problem_responses(422),
)
async def what_if(
    assessment: ReadableAssessment, data: WhatIfIn, db: SessionDep, reader: SchoolMonitorDep
) -> WhatIfResult:
    return await service.what_if(db, assessment, reader, data)
