import gc
from collections.abc import Iterator

import pytest

from c2r_common.cli import GC_THRESHOLDS, _tune_garbage_collection


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_serving_freezes_the_startup_heap_and_collects_less_often() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    _tune_garbage_collection()

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == GC_THRESHOLDS
