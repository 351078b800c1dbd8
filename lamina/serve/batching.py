"""Server-side batching: concurrent requests share one forward pass.

Requests put their decoded input on an asyncio queue and await a future. One collector task
takes the first waiting input, then everything already queued, and, while other requests are
still being decoded (so more inputs are surely coming), waits up to `max_wait` for them, until
`max_batch_size` inputs are gathered. The batch runs in one worker thread, off the event loop;
while it runs the next requests queue up, so batches grow with the load on their own. A lone
request never waits: with nothing else in flight it runs at once.

If a batch fails with a `ValueError` (one bad input, say), each of its inputs is run alone, so
only the bad one gets the error.

An item may come with a `prepare` function (decoding an upload, say) that the worker thread runs
before the batch: a request that finds the batcher idle hands it over undecoded, so a lone
request crosses to a thread once instead of twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

PredictMany = Callable[[Sequence[Any]], list[Any]]
Prepare = Callable[[Any], Any]


class Batcher:
    """Collects concurrent `submit`s into batches for `predict_many` (see the module doc).

    Args:
        predict_many: items -> one result per item, in order (runs in the worker thread).
        max_batch_size: the most items in one call of `predict_many`.
        max_wait: seconds the collector may wait for requests still being decoded.

    Example:
        >>> batcher = Batcher(predictor.predict_many, max_batch_size=32, max_wait=0.005)
        >>> await batcher.start()
        >>> with batcher.arriving():
        ...     item = decode(upload)
        ...     record = await batcher.submit(item)
    """

    def __init__(
        self, predict_many: PredictMany, max_batch_size: int = 32, max_wait: float = 0.005
    ) -> None:
        if not (isinstance(max_batch_size, int) and max_batch_size >= 1):
            raise ValueError(f"max_batch_size must be a positive integer, got {max_batch_size!r}")
        if not (isinstance(max_wait, (int, float)) and max_wait >= 0):
            raise ValueError(f"max_wait must be a number of seconds >= 0, got {max_wait!r}")
        self.predict_many = predict_many
        self.max_batch_size, self.max_wait = max_batch_size, float(max_wait)
        self.batch_sizes: list[int] = []  # every batch run, for tests and monitoring
        self._arriving = 0  # requests started but not yet submitted
        self._running = False  # a batch is in the worker thread
        self._queue: asyncio.Queue[tuple[Any, Prepare | None, asyncio.Future]] | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Start the collector on the running event loop and the worker thread."""
        if self._task is not None:
            raise RuntimeError("this Batcher is already started")
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lamina-infer")
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop collecting; requests still queued get a `RuntimeError`."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        while self._queue is not None and not self._queue.empty():
            *_, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._task = self._executor = None

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Mark a request as on its way (being read or decoded) until its `submit`."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1

    @property
    def idle(self) -> bool:
        """True when no batch runs, none is queued and at most one request is arriving."""
        return (
            not self._running
            and self._arriving <= 1
            and (self._queue is None or self._queue.empty())
        )

    async def submit(self, item: Any, prepare: Prepare | None = None) -> Any:
        """Queue one item and wait for its result (or its exception).

        `prepare`, if given, runs on `item` in the worker thread before the batch; what it raises
        is that item's error alone.
        """
        if self._queue is None or self._task is None:
            raise RuntimeError("the Batcher is not started")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((item, prepare, future))
        return await future

    async def _collect(self) -> list[tuple[Any, Prepare | None, asyncio.Future]]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if self._arriving <= 0 or remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            batch = [entry for entry in batch if not entry[-1].cancelled()]
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            entries = [(item, prepare) for item, prepare, _ in batch]
            self._running = True
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self._prepare_predict, entries
                )
            finally:
                self._running = False
            for (*_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():  # the client went away
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _prepare_predict(self, entries: list[tuple[Any, Prepare | None]]) -> list[tuple[bool, Any]]:
        """Prepare each item (its own error if that fails), then predict the prepared ones."""
        prepared: list[tuple[bool, Any]] = []
        for item, prepare in entries:
            try:
                prepared.append((True, item if prepare is None else prepare(item)))
            except Exception as error:
                prepared.append((False, error))
        ready = [value for ok, value in prepared if ok]
        results = iter(self._predict(ready) if ready else [])
        return [next(results) if ok else (False, value) for ok, value in prepared]

    def _predict(self, items: list[Any]) -> list[tuple[bool, Any]]:
        """(ok, result or exception) per item; a failed batch is retried item by item."""
        try:
            results = self.predict_many(items)
        except Exception as error:
            if len(items) == 1 or not isinstance(error, ValueError):
                return [(False, error)] * len(items)
            return [self._predict([item])[0] for item in items]
        if len(results) != len(items):
            mismatch = RuntimeError(f"predict_many gave {len(results)} results for {len(items)}")
            return [(False, mismatch)] * len(items)
        return [(True, result) for result in results]
