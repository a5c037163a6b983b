from c2r_common.errors import ProblemError


def invalid_device_token() -> ProblemError:
    return ProblemError(
        401,
        "The device token is unknown or revoked.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
