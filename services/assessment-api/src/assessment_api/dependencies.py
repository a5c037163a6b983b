"""Dependency aliases shared by the service's routers."""

from typing import Annotated

from fastapi import Depends

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.errors import ProblemError
from c2r_common.pagination import PageParams, page_params

Reader = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_WRITE))]
Approver = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_APPROVE))]
Paging = Annotated[PageParams, Depends(page_params)]


def _refuse_country_limited(principal: Principal) -> Principal:
    # Methodologies, partners and the beneficiary list belong to no single country: a
    # Member State focal point's token (limited to its countries) may read but not change them.
    if principal.countries is not None:
        raise ProblemError(
            403,
            "This data is shared by all countries; a token limited to countries cannot change it.",
        )
    return principal


async def global_writer(principal: Writer) -> Principal:
    return _refuse_country_limited(principal)


async def global_approver(principal: Approver) -> Principal:
    return _refuse_country_limited(principal)


GlobalWriter = Annotated[Principal, Depends(global_writer)]
GlobalApprover = Annotated[Principal, Depends(global_approver)]
