"""Dependency aliases shared by the service's routers."""

from typing import Annotated

from fastapi import Depends

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.pagination import PageParams, page_params

Reader = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_WRITE))]
Approver = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_APPROVE))]
Paging = Annotated[PageParams, Depends(page_params)]


# Methodologies, partners and the beneficiary list belong to no single country: a Member
# State focal point's token (limited to its countries) may read but not change them.
GlobalWriter = Annotated[
    Principal, Depends(require_scopes(Scope.ASSESSMENTS_WRITE, all_countries=True))
]
GlobalApprover = Annotated[
    Principal, Depends(require_scopes(Scope.ASSESSMENTS_APPROVE, all_countries=True))
]
