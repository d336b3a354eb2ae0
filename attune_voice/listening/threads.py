"""Work shared out between threads: the voice model's slices and the speaker encoder's batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Part = TypeVar("Part")


def on_threads(work: Callable[[Part], None], parts: Sequence[Part], threads: int) -> None:
    """``work`` on every part, shared out between at most ``threads`` threads (one core
    each: the work is numpy or onnxruntime, which release the GIL); on this thread alone
    where one is asked for or one part is all there is. An error in any part is raised."""
    if threads <= 1 or len(parts) <= 1:
        for part in parts:
            work(part)
        return
    with ThreadPoolExecutor(min(threads, len(parts))) as pool:
        for done in [pool.submit(work, part) for part in parts]:
            done.result()


__all__ = ["on_threads"]
