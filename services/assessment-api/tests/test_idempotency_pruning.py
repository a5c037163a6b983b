"""Expired Idempotency-Keys are pruned by the service's background job while it runs."""

from pathlib import Path

from assessment_api.db import IdempotencyRecord
from c2r_common.testing import ServiceUnderTest, check_expired_keys_pruned


async def test_an_expired_key_is_pruned_and_a_fresh_one_kept(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    await check_expired_keys_pruned(service_under_test, IdempotencyRecord, tmp_path)
