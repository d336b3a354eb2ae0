"""Speech-recognition models: the published catalogue, download with resume, and the one in use.

Nothing here runs on import or during a session: a download happens only when the
couple asks for one (``attune-voice models download``). The archive is fetched into a
``.part`` file that a later run resumes with an HTTP Range request, checked against
its checksum, unpacked into a temporary folder beside the target and renamed into
place, so a half-installed model never exists under its own name.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from attune_voice.errors import ModelError
from attune_voice.store.paths import data_dir

DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
MODELS_URL = "https://alphacephei.com/vosk/models/"
"""Where the vosk models are published, each as ``<name>.zip``."""
CHECKSUM_LIST = "model-list.json"
"""Published beside the models: name, size in bytes and checksum of each archive."""
MODEL_SETTING = "model_path"
"""The store setting naming the model folder chosen with ``models use``."""
CHUNK_BYTES = 1 << 16

NO_MODEL_HINT = (
    "no speech model, so the floor passes with Enter, space or the clicker, or after "
    "a silence; to hand over by voice and use voice commands, add one with: "
    f"attune-voice models download {DEFAULT_MODEL}"
)


@dataclass(frozen=True)
class CatalogueEntry:
    """One published model."""

    name: str
    description: str
    size_mb: int
    """About how big the archive is, as published."""
    sha256: str | None = None
    """Known checksum; None: the published checksum list is fetched with the download."""

    def url(self, base_url: str = MODELS_URL) -> str:
        return base_url.rstrip("/") + f"/{self.name}.zip"


CATALOGUE = (
    CatalogueEntry(DEFAULT_MODEL, "US English, small: runs on a Raspberry Pi 4", 40),
    CatalogueEntry("vosk-model-small-en-in-0.4", "Indian English, small", 36),
    CatalogueEntry(
        "vosk-model-en-us-0.22-lgraph", "US English, medium: more accurate, more memory", 128
    ),
)


class Settings(Protocol):
    """The store's key-value settings (``Store.get_setting`` / ``set_setting``)."""

    def get_setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...


Progress = Callable[[int, "int | None"], None]
"""Called with bytes downloaded so far and the archive's size (None while unknown)."""


# --- where models live ------------------------------------------------------------------


def models_dir() -> Path:
    """``$ATTUNE_HOME/models``; else ``models/`` in a source checkout; else the data folder's."""
    if os.environ.get("ATTUNE_HOME"):
        return data_dir() / "models"
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "setup.cfg").is_file() and (checkout / ".git").exists():
        return checkout / "models"
    return data_dir() / "models"


def layout_problem(folder: Path) -> str | None:
    """What keeps ``folder`` from being a vosk model folder, or None when it is one."""
    if not folder.is_dir():
        return f"{folder} is not a folder" if folder.exists() else f"{folder} does not exist"
    for needed in ("am/final.mdl", "conf/model.conf"):
        if not (folder / needed).is_file():
            return f"{folder} has no {needed}, so it is not a vosk model folder"
    graph = folder / "graph"
    if not (graph / "HCLG.fst").is_file() and not (
        (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    ):
        return f"{folder} has neither graph/HCLG.fst nor graph/HCLr.fst with graph/Gr.fst"
    return None


def check_model(folder: Path) -> Path:
    """``folder`` resolved, or ModelError saying what is missing."""
    problem = layout_problem(folder)
    if problem is not None:
        raise ModelError(problem)
    return folder.resolve()


def installed(folder: Path | None = None) -> dict[str, Path]:
    """Usable model folders in the models folder, by name."""
    where = folder or models_dir()
    if not where.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in sorted(where.iterdir())
        if not entry.name.startswith(".") and layout_problem(entry) is None
    }


def use_model(folder: Path, settings: Settings) -> Path:
    """Remember ``folder`` as the model for every session."""
    chosen = check_model(folder)
    settings.set_setting(MODEL_SETTING, str(chosen))
    return chosen


def model_in_use(explicit: Path | None, settings: Settings) -> Path | None:
    """The model a session should use, or None when there is none yet.

    An explicit ``--model`` first, then the one chosen with ``models use``, then the
    default model when it has been downloaded. A chosen model that has gone missing is
    an error rather than a silent fall-back, so that nobody wonders why voice commands
    stopped working.
    """
    if explicit is not None:
        return check_model(explicit)
    saved = settings.get_setting(MODEL_SETTING)
    if saved:
        problem = layout_problem(Path(saved))
        if problem is not None:
            raise ModelError(
                f"the speech model in use cannot be loaded: {problem}; choose one with: "
                "attune-voice models use PATH"
            )
        return Path(saved)
    default = models_dir() / DEFAULT_MODEL
    return default if layout_problem(default) is None else None


def catalogue_entry(name: str) -> CatalogueEntry:
    for entry in CATALOGUE:
        if entry.name == name:
            return entry
    known = ", ".join(entry.name for entry in CATALOGUE)
    raise ModelError(f"no published model is called {name!r}; the catalogue has: {known}")


# --- download -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expected:
    algorithm: str
    digest: str
    size_bytes: int | None


def download(
    name: str,
    into: Path | None = None,
    progress: Progress | None = None,
    base_url: str = MODELS_URL,
    timeout_s: float = 30.0,
    catalogue: tuple[CatalogueEntry, ...] = CATALOGUE,
) -> Path:
    """Download, check and install the published model ``name``; return its folder.

    A model already installed is returned as it is. An interrupted download leaves
    ``<name>.zip.part`` behind and the next call resumes it.
    """
    entry = next((e for e in catalogue if e.name == name), None)
    if entry is None:
        catalogue_entry(name)  # raises with the list of names
        raise AssertionError  # pragma: no cover
    where = into or models_dir()
    target = where / name
    if layout_problem(target) is None:
        return target
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create the models folder {where}: {e.strerror or e}") from e
    expected = _expected(entry, base_url, timeout_s)
    partial = where / f"{name}.zip.part"
    _fetch(entry.url(base_url), partial, progress, timeout_s, name)
    _verify(partial, expected, name)
    _install(partial, target, name)
    partial.unlink()
    return target


def _open(url: str, timeout_s: float, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        raise ModelError(
            f"cannot reach {url}: {reason}; check the network, or use a model already on "
            "disk with: attune-voice models use PATH"
        ) from e


def _expected(entry: CatalogueEntry, base_url: str, timeout_s: float) -> _Expected:
    if entry.sha256 is not None:
        return _Expected("sha256", entry.sha256.lower(), None)
    url = base_url.rstrip("/") + "/" + CHECKSUM_LIST
    try:
        with _open(url, timeout_s) as response:
            listing = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        e.close()
        raise ModelError(f"cannot fetch the checksum list {url}: HTTP {e.code}") from e
    except (ValueError, OSError, http.client.HTTPException) as e:
        raise ModelError(f"cannot read the checksum list {url}: {e}") from e
    for item in listing if isinstance(listing, list) else []:
        if isinstance(item, dict) and item.get("name") == entry.name:
            size = item.get("size")
            size_bytes = int(size) if isinstance(size, int) else None
            for algorithm in ("sha256", "md5"):
                digest = item.get(algorithm)
                if isinstance(digest, str) and digest:
                    return _Expected(algorithm, digest.lower(), size_bytes)
    raise ModelError(f"the checksum list {url} has no checksum for {entry.name}")


def _fetch(url: str, partial: Path, progress: Progress | None, timeout_s: float, name: str) -> None:
    offset = partial.stat().st_size if partial.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = _open(url, timeout_s, headers)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:
            return  # everything is already here; the checksum says whether it is right
        raise ModelError(f"cannot download {name} from {url}: HTTP {e.code} {e.reason}") from e
    with response:
        total: int | None
        if response.status == 206:
            first, total = _content_range(response.headers.get("Content-Range", ""))
            if first != offset:
                raise ModelError(f"the server resumed {name} at the wrong place; run it again")
            mode = "ab"
        else:
            # The server ignored the Range request: start again from the beginning.
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        done = offset
        if progress is not None:
            progress(done, total)
        try:
            with partial.open(mode) as out:
                for chunk in _chunks(response):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        except (OSError, http.client.HTTPException) as e:
            raise _interrupted(name, done, total, e) from e
    if total is not None and done < total:
        raise _interrupted(name, done, total, "the connection closed early")


def _chunks(response: Any) -> Iterator[bytes]:
    while chunk := response.read(CHUNK_BYTES):
        yield chunk


def _content_range(header: str) -> tuple[int, int | None]:
    # "bytes 1000-4999/5000"
    try:
        span, _, size = header.removeprefix("bytes").strip().partition("/")
        first = int(span.split("-")[0])
        return first, int(size) if size.isdigit() else None
    except ValueError:
        return -1, None


def _interrupted(name: str, done: int, total: int | None, reason: object) -> ModelError:
    of = f" of {total / 1e6:.1f}" if total else ""
    return ModelError(
        f"the download of {name} stopped at {done / 1e6:.1f}{of} MB ({reason}); run the "
        "same command again to resume it"
    )


def _verify(partial: Path, expected: _Expected, name: str) -> None:
    digest = hashlib.new(expected.algorithm)
    size = 0
    with partial.open("rb") as archive:
        while block := archive.read(1 << 20):
            digest.update(block)
            size += len(block)
    problem = None
    if expected.size_bytes is not None and size != expected.size_bytes:
        problem = f"{size} bytes instead of {expected.size_bytes}"
    elif digest.hexdigest() != expected.digest:
        problem = f"{expected.algorithm} {digest.hexdigest()} instead of {expected.digest}"
    if problem is not None:
        partial.unlink()
        raise ModelError(
            f"the downloaded archive of {name} is damaged ({problem}); it was deleted, "
            "so run the same command again to download it afresh"
        )


def _install(partial: Path, target: Path, name: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(partial) as archive:
                for member in archive.namelist():
                    inner = PurePosixPath(member)
                    if inner.is_absolute() or ".." in inner.parts:
                        raise ModelError(f"the archive of {name} has an unsafe path {member!r}")
                archive.extractall(staging)
        except (zipfile.BadZipFile, OSError) as e:
            partial.unlink()
            raise ModelError(f"the archive of {name} cannot be unpacked: {e}") from e
        entries = [p for p in staging.iterdir() if not p.name.startswith("__MACOSX")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        problem = layout_problem(root)
        if problem is not None:
            partial.unlink()
            raise ModelError(f"the archive of {name} holds no usable model: {problem}")
        leftover = target.parent / f".{name}-replaced-{os.getpid()}"
        if target.exists():
            # A damaged folder under the model's name: out of the way, then deleted.
            target.rename(leftover)
        root.rename(target)
        shutil.rmtree(leftover, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
