import pytest

from c2r_common.concurrency import check_if_match, etag
from c2r_common.errors import ProblemError


@pytest.mark.parametrize("if_match", [None, '"7"', 'W/"7"', '"6", "7"', "*", '"6", *'])
def test_current_or_absent_if_match_lets_the_write_through(if_match: str | None) -> None:
    check_if_match(if_match, 7, "request")


@pytest.mark.parametrize("if_match", ['"6"', 'W/"6"', '"6", "8"', "7"])
def test_stale_if_match_is_a_412_naming_the_current_etag(if_match: str) -> None:
    with pytest.raises(ProblemError) as raised:
        check_if_match(if_match, 7, "request")
    assert raised.value.status_code == 412
    assert raised.value.extra["current_etag"] == etag(7) == '"7"'
    assert "request" in str(raised.value.detail)
