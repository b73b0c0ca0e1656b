"""How queued tracks are cut into jobs: every track once, in order, with a small tail."""

from __future__ import annotations

import pytest

from mus_desktop.processing.queue import SMALLEST_TAIL_BATCH, batch_sizes_for, batched


@pytest.mark.parametrize("count", [0, 1, 99, 1000, 1001, 2000, 19_750, 20_000])
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_every_track_is_in_one_batch_in_order(count: int, workers: int) -> None:
    size = batch_sizes_for(count, workers, 500)

    batches = batched(range(count), size, workers)

    assert [track for batch in batches for track in batch] == list(range(count))
    assert all(0 < len(batch) <= size for batch in batches)


def test_the_last_round_of_batches_is_cut_in_halves() -> None:
    sizes = [len(batch) for batch in batched(range(20_000), 500, workers=2)]

    assert sizes == [500] * 38 + [250] * 4


def test_small_batches_are_not_halved() -> None:
    size = 2 * SMALLEST_TAIL_BATCH - 1

    sizes = [len(batch) for batch in batched(range(10 * size), size, workers=2)]

    assert sizes == [size] * 10
