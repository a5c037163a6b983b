import asyncio
from datetime import datetime

from c2r_common.evidence import EvidencePack
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.evidence.sources import EvidenceSources


async def evidence_pack(
    *, sources: EvidenceSources, request: AssistanceRequest, now: datetime
) -> EvidencePack:
    """Both parts are read at once: the pack takes as long as the slower one, at most
    one budget."""
    iso3 = request.country_iso3
    assessment, connectivity = await asyncio.gather(
        sources.assessment(iso3), sources.connectivity(iso3)
    )
    return EvidencePack(
        request_id=request.id,
        country_iso3=iso3,
        generated_at=now,
        assessment=assessment,
        connectivity=connectivity,
    )
