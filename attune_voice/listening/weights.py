"""Network weights read safely: files checked by SHA-256, torch checkpoints building no class.

Files are checked against their SHA-256 before anything is read from them. A torch
checkpoint is a pickle that names the classes to build; unpickled as it is, it can run
any code. Here only the few names a checkpoint of float tensors needs are accepted (an
ordered dict, the tensor rebuilder, the float storage), each standing in for the real
thing, plus any a reader names as inert (its training task's description, the version
that wrote it), built as an object that keeps nothing. Any other name is refused.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from attune_voice.errors import ModelError

Float32 = npt.NDArray[np.float32]


def verified_bytes(path: Path, sha256: str, described: str, hint: str) -> bytes:
    """The file's bytes; ModelError naming ``described`` and what to do (``hint``) when
    it cannot be read or is not the expected file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{described} {path} cannot be read ({e.strerror}): {hint}") from e
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelError(f"{described} {path} is damaged (SHA-256 differs): {hint}")
    return data


@dataclass(frozen=True)
class _TensorRef:
    """A tensor as the checkpoint describes it: a view of a float32 storage."""

    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


class _FloatStorage:
    """Stands for ``torch.FloatStorage`` while unpickling: only its identity is used."""


class _Inert:
    """Stands for a class a reader names as inert: takes what it is given, keeps nothing."""

    def __init__(self, *_: object, **__: object) -> None:
        pass

    def __setstate__(self, _: object) -> None:
        pass


def _rebuild_tensor(
    key: str, offset: int, shape: tuple[int, ...], stride: tuple[int, ...], *_: object
) -> _TensorRef:
    return _TensorRef(key, offset, tuple(shape), tuple(stride))


class _OrderedDict(dict[Any, Any]):
    """Stands for ``collections.OrderedDict`` (a dict keeps its order anyway)."""


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch", "FloatStorage"): _FloatStorage,
}


class CheckpointUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint of float tensors, building none of its classes:
    tensors come out as references to their storages (``tensors`` makes them arrays)."""

    def __init__(self, stream: IO[bytes], inert: Collection[tuple[str, str]] = ()) -> None:
        super().__init__(stream)
        self._inert = set(inert)

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        if (module, name) in self._inert:
            return _Inert
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")

    def persistent_load(self, pid: Any) -> str:
        # ('storage', storage type, key, location, size[, view metadata])
        if (
            not isinstance(pid, tuple)
            or len(pid) < 3
            or pid[0] != "storage"
            or pid[1] is not _FloatStorage
        ):
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        return str(pid[2])


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles plain values (numbers, strings, lists, dicts) and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")


def tensors(state: dict[Any, Any], storages: dict[str, Float32]) -> dict[str, Float32]:
    """The float tensors of a checkpoint's ``state`` by name (other entries skipped),
    each a contiguous view of its storage; ValueError for any other layout."""
    found: dict[str, Float32] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        storage = storages[ref.key]
        size = int(np.prod(ref.shape))
        contiguous = tuple(int(np.prod(ref.shape[i + 1 :])) for i in range(len(ref.shape)))
        if ref.stride != contiguous or ref.offset + size > len(storage):
            raise ValueError(f"unexpected layout of {name}")
        view = storage[ref.offset : ref.offset + size].reshape(ref.shape)
        found[str(name)] = np.ascontiguousarray(view, dtype=np.float32)
    return found


def legacy_checkpoint(data: bytes) -> tuple[Any, dict[str, Float32]]:
    """(checkpoint, storages by key) of torch's legacy format: pickles one after the
    other (a magic number, the protocol, the writing machine's sizes, the checkpoint,
    the storages' keys), then each storage's length and raw bytes."""
    stream = io.BytesIO(data)
    for _ in range(3):
        _PlainUnpickler(stream).load()
    checkpoint = CheckpointUnpickler(stream).load()
    keys = _PlainUnpickler(stream).load()
    storages: dict[str, Float32] = {}
    for key in keys:
        count = int.from_bytes(stream.read(8), "little")
        raw = stream.read(4 * count)
        if len(raw) != 4 * count:
            raise ValueError("the file ends inside a storage")
        storages[str(key)] = np.frombuffer(raw, dtype="<f4")
    return checkpoint, storages


def zip_checkpoint(
    data: bytes, inert: Collection[tuple[str, str]] = ()
) -> tuple[Any, dict[str, Float32]]:
    """(checkpoint, storages by key) of torch's zip format: ``<name>/data.pkl`` and each
    storage's raw bytes in ``<name>/data/<key>``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        prefix = archive.namelist()[0].split("/")[0]
        checkpoint = CheckpointUnpickler(archive.open(f"{prefix}/data.pkl"), inert).load()
        storages = {
            name.rsplit("/", 1)[1]: np.frombuffer(archive.read(name), dtype="<f4")
            for name in archive.namelist()
            if name.startswith(f"{prefix}/data/")
        }
    return checkpoint, storages
