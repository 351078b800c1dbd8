"""The Batcher: concurrent submissions share batches, results keep their order, one bad item
fails alone, and inference runs off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from lamina.serve.batching import Batcher


def _square_slowly(items: list) -> list:
    time.sleep(0.02)  # a forward pass: requests arriving meanwhile queue up
    if any(item == "bad" for item in items):
        raise ValueError("bad item")
    return [item * item for item in items]


async def _submit_all(batcher: Batcher, items: list) -> list:
    await batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(item) for item in items),
                                    return_exceptions=True)  # fmt: skip
    finally:
        await batcher.stop()


def test_concurrent_requests_are_batched_in_order() -> None:
    batcher = Batcher(_square_slowly, max_batch_size=8, max_wait=0.01)
    results = asyncio.run(_submit_all(batcher, list(range(20))))
    assert results == [i * i for i in range(20)]
    assert max(batcher.batch_sizes) == 8  # never more than the max batch size
    assert len(batcher.batch_sizes) < 20  # and more than one per batch
    assert sum(batcher.batch_sizes) == 20


def test_a_lone_request_does_not_wait() -> None:
    batcher = Batcher(lambda items: items, max_batch_size=8, max_wait=5.0)
    start = time.perf_counter()
    assert asyncio.run(_submit_all(batcher, [3])) == [3]
    assert time.perf_counter() - start < 2.0  # it ran without waiting out max_wait


def test_one_bad_item_fails_alone() -> None:
    batcher = Batcher(_square_slowly, max_batch_size=8)
    results = asyncio.run(_submit_all(batcher, [1, "bad", 3]))
    assert results[0] == 1
    assert results[2] == 9
    assert isinstance(results[1], ValueError)


def test_inference_runs_off_the_event_loop() -> None:
    threads = []

    def record_thread(items: list) -> list:
        threads.append(threading.current_thread().name)
        return items

    batcher = Batcher(record_thread)
    asyncio.run(_submit_all(batcher, [1, 2]))
    assert threads
    assert all(name.startswith("lamina-infer") for name in threads)


def test_prepare_runs_in_the_worker_and_its_error_is_that_items_alone() -> None:
    threads = []

    def parse(text: str) -> int:
        threads.append(threading.current_thread().name)
        return int(text)  # "x" raises ValueError

    async def run() -> list:
        await batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(text, parse) for text in ["2", "x", "4"]),
                                        batcher.submit(5), return_exceptions=True)  # fmt: skip
        finally:
            await batcher.stop()

    batcher = Batcher(lambda items: [item * 10 for item in items], max_batch_size=8)
    results = asyncio.run(run())
    assert [results[0], results[2], results[3]] == [20, 40, 50]
    assert isinstance(results[1], ValueError)
    assert "'x'" in str(results[1])
    assert threads
    assert all(name.startswith("lamina-infer") for name in threads)


def test_idle_means_nothing_queued_running_or_arriving_but_oneself() -> None:
    batcher = Batcher(lambda items: items)
    assert batcher.idle
    with batcher.arriving():
        assert batcher.idle  # the request asking
        with batcher.arriving():
            assert not batcher.idle  # another one is on its way


@pytest.mark.parametrize(("argument", "value"), [("max_batch_size", 0), ("max_wait", -1.0)])
def test_constructor_validates(argument: str, value: float) -> None:
    with pytest.raises(ValueError, match=argument):
        Batcher(lambda items: items, **{argument: value})
