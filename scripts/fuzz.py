"""Long fuzzing runs of the suite's targets: examples tried and the largest input, per target.

    .venv/bin/python scripts/fuzz.py                    # 5,000 examples per target
    .venv/bin/python scripts/fuzz.py --examples 50000 --target wav

The targets and their input generators are those of tests/test_fuzz.py, which runs a
few hundred of each; this runs as many as asked, without a time limit per example,
and stops at the first input that gives a traceback, a hang or a huge allocation.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import test_fuzz as targets


def _repeated(parts: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Inputs up to a few megabytes: a small drawn value repeated many times."""
    return st.builds(lambda part, times: part * times, parts, st.integers(1, 1 << 16))


def _targets() -> dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], None]]]:
    return {
        "wav": (targets.wav_files(max_repeat=1024) | _repeated(st.binary()), targets.check_wav),
        "exercise": (
            targets.mutated_scripts() | _repeated(st.text()).map(str),
            targets.check_script,
        ),
        "review json": (targets.event_lists(), targets.check_review_json),
        "events csv": (targets.csv_texts(), targets.check_csv),
        "archive": (targets.archives(), targets.check_archive),
    }


def main() -> int:
    available = _targets()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="per target")
    parser.add_argument("--target", choices=sorted(available), action="append")
    args = parser.parse_args()
    chosen = args.target or list(available)
    failed = False
    print(f"{'target':<12} {'examples':>9} {'largest input':>14} {'seconds':>8}  result")
    for name in chosen:
        strategy, check = available[name]
        run = settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(strategy)(check))
        began = time.perf_counter()
        try:
            run()
            result = "ok"
        except Exception as e:  # report every target, then fail the run
            failed = True
            result = f"FAILED: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        took_s = time.perf_counter() - began
        key = {"exercise": "exercise"}.get(name, name)
        tried = targets.TALLY.examples.get(key, 0)
        largest = targets.TALLY.largest_bytes.get(key, 0)
        print(f"{name:<12} {tried:>9} {largest:>12} B {took_s:>8.1f}  {result}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
