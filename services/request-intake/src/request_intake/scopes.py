"""Scopes that several domains check alike."""

from c2r_common.auth import Scope

# Everyone who works with requests: focal points (limited to their countries by the
# token), reviewers and approvers. They read requests, and the calls requests answer.
READ_SCOPES = (
    Scope.REQUESTS_READ,
    Scope.REQUESTS_SUBMIT,
    Scope.REQUESTS_REVIEW,
    Scope.REQUESTS_APPROVE,
)
