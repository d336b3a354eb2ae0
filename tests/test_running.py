"""A session another process is recording is never marked interrupted; a dead one is."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from attune_voice.events import Key
from attune_voice.store.database import Store
from attune_voice.store.running import SessionClaim, is_recording, lock_path

RECORDER = """
import sys
from pathlib import Path
from attune_voice.store.running import SessionClaim
from attune_voice.store.database import Store

db = Path(sys.argv[1])
with Store.open(db) as store:
    holder = SessionClaim(db.parent)
    session_id = store.start_session(
        exercise="x", partners=("A", "B"), mode="demo",
        started_at="2026-01-01T00:00:00Z", settings={}, claim=holder.claim,
    )
    print(session_id, flush=True)
    sys.stdin.readline()  # records until the test says it is done
    store.finish_session(session_id, "completed", 1.0)
    holder.release()
print("done", flush=True)
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "attune.db"


@pytest.fixture
def recorder(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process recording a session into the same database."""
    process = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        assert stream is not None
        stream.close()


def new_session(store: Store, claim: Callable[[int], None] | None = None) -> int:
    return store.start_session(
        exercise="x",
        partners=("A", "B"),
        mode="demo",
        started_at="2026-01-01T00:00:00Z",
        settings={},
        claim=claim,
    )


def started_id(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    return int(process.stdout.readline())


def test_a_live_session_is_spared_and_finishes_normally(
    db: Path, recorder: subprocess.Popen[str]
) -> None:
    live = started_id(recorder)
    with Store.open(db) as store:
        crashed = new_session(store)
        store.append(crashed, Key(t=2.0, key="enter"))
        marked = store.mark_unfinished_interrupted(lambda other: is_recording(db.parent, other))
        assert marked == [crashed]
        assert store.session(live).status == "running"
    assert recorder.stdin is not None and recorder.stdout is not None
    recorder.stdin.write("\n")
    recorder.stdin.flush()
    assert recorder.stdout.readline().strip() == "done"
    with Store.open(db) as store:
        assert store.session(live).status == "completed"
    assert not lock_path(db.parent, live).exists()


def test_a_killed_recorder_leaves_a_session_the_next_start_marks(
    db: Path, recorder: subprocess.Popen[str]
) -> None:
    live = started_id(recorder)
    assert is_recording(db.parent, live)
    recorder.kill()  # SIGKILL: no clean-up runs; the lock file stays behind
    recorder.wait()
    assert lock_path(db.parent, live).exists()
    with Store.open(db) as store:
        marked = store.mark_unfinished_interrupted(lambda other: is_recording(db.parent, other))
        assert marked == [live]
        assert store.session(live).status == "interrupted"
    # The stale lock file was cleared on the way.
    assert not lock_path(db.parent, live).exists()


def test_a_claim_is_private_and_exclusive(tmp_path: Path) -> None:
    first = SessionClaim(tmp_path)
    first.claim(7)
    path = lock_path(tmp_path, 7)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(BlockingIOError):
        SessionClaim(tmp_path).claim(7)
    assert is_recording(tmp_path, 7)
    first.release()
    assert not is_recording(tmp_path, 7)
    first.release()  # twice is harmless


def test_a_failed_claim_leaves_no_session(db: Path) -> None:
    def refuse(session_id: int) -> None:
        raise OSError(28, "No space left on device")

    with Store.open(db) as store:
        with pytest.raises(OSError):
            new_session(store, claim=refuse)
        assert store.sessions() == []
