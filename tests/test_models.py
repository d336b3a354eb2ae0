"""Model downloads against a real HTTP server on 127.0.0.1; layout checks; the models commands.

The server is Python's own, on a free local port, serving a small archive in the vosk
layout; each test switches on the fault it needs (a connection that drops, a server
that ignores Range, a wrong checksum). Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from attune_voice.cli.main import cli
from attune_voice.errors import ModelError
from attune_voice.listening import models
from attune_voice.listening.models import CatalogueEntry

NAME = "tiny-model"


def model_files(top: str) -> dict[str, bytes]:
    return {
        f"{top}/am/final.mdl": b"<TransitionModel> " + b"x" * 40_000,
        f"{top}/conf/model.conf": b"--beam=10\n",
        f"{top}/conf/mfcc.conf": b"--use-energy=false\n",
        f"{top}/graph/HCLG.fst": bytes(range(256)) * 300,
        f"{top}/graph/words.txt": b"<eps> 0\nyes 1\n",
    }


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


ARCHIVE = make_zip(model_files(NAME))


@dataclass
class Behaviour:
    """What the server does; tests change it between requests."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None
    """Drop the connection after this many bytes of the body (then stop dropping)."""
    honour_range: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    behaviour: Behaviour

    def log_message(self, format: str, *args: object) -> None:
        pass  # the server talks to nobody

    def do_GET(self) -> None:
        b = self.behaviour
        range_header = self.headers.get("Range")
        b.requests.append((self.path, range_header))
        data = b.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if range_header and b.honour_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if b.cut_after is not None:
            body = body[: b.cut_after]
            b.cut_after = None
            self.close_connection = True
        self.wfile.write(body)


@dataclass
class Server:
    behaviour: Behaviour
    base_url: str


@pytest.fixture
def server() -> Iterator[Server]:
    behaviour = Behaviour(files={f"/{NAME}.zip": ARCHIVE})
    handler = type("TestHandler", (Handler,), {"behaviour": behaviour})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(behaviour, f"http://127.0.0.1:{httpd.server_address[1]}/")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def entry(sha256: str | None = None) -> tuple[CatalogueEntry, ...]:
    digest = hashlib.sha256(ARCHIVE).hexdigest() if sha256 is None else sha256
    return (CatalogueEntry(NAME, "a test model", 1, sha256=digest),)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != NAME)


# --- download -------------------------------------------------------------------------------


def test_a_good_download_is_checked_and_installed(server: Server, tmp_path: Path) -> None:
    progress = Recorder()
    path = models.download(NAME, tmp_path, progress, server.base_url, catalogue=entry())
    assert path == tmp_path / NAME
    assert models.layout_problem(path) is None
    assert (path / "graph" / "words.txt").read_bytes() == b"<eps> 0\nyes 1\n"
    assert leftovers(tmp_path) == []  # no .part, no staging folder
    dones = [done for done, _ in progress.calls]
    assert dones == sorted(dones)
    assert progress.calls[-1] == (len(ARCHIVE), len(ARCHIVE))


def test_an_installed_model_is_not_fetched_again(server: Server, tmp_path: Path) -> None:
    models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    server.behaviour.requests.clear()
    models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    assert server.behaviour.requests == []


def test_a_dropped_connection_keeps_the_part_and_says_to_resume(
    server: Server, tmp_path: Path
) -> None:
    server.behaviour.cut_after = 10_000
    with pytest.raises(ModelError, match=r"stopped at 0\.0 of 0\.1 MB.*run the same command again"):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    assert (tmp_path / f"{NAME}.zip.part").stat().st_size == 10_000
    assert not (tmp_path / NAME).exists()


def test_an_interrupted_download_resumes_where_it_stopped(server: Server, tmp_path: Path) -> None:
    server.behaviour.cut_after = 10_000
    with pytest.raises(ModelError):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    progress = Recorder()
    path = models.download(NAME, tmp_path, progress, server.base_url, catalogue=entry())
    assert server.behaviour.requests[-1] == (f"/{NAME}.zip", "bytes=10000-")
    assert progress.calls[0] == (10_000, len(ARCHIVE))
    assert models.layout_problem(path) is None
    assert leftovers(tmp_path) == []


def test_a_server_that_ignores_range_starts_again(server: Server, tmp_path: Path) -> None:
    server.behaviour.cut_after = 10_000
    with pytest.raises(ModelError):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    server.behaviour.honour_range = False
    path = models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    assert models.layout_problem(path) is None


def test_a_complete_part_is_only_checked(server: Server, tmp_path: Path) -> None:
    (tmp_path / f"{NAME}.zip.part").write_bytes(ARCHIVE)
    path = models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    assert server.behaviour.requests == [(f"/{NAME}.zip", f"bytes={len(ARCHIVE)}-")]
    assert models.layout_problem(path) is None


def test_a_wrong_checksum_deletes_the_archive(server: Server, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"damaged \(sha256 [0-9a-f]+ instead of 00+\)"):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=entry("0" * 64))
    assert leftovers(tmp_path) == []
    assert not (tmp_path / NAME).exists()


def test_without_a_known_checksum_the_published_list_is_used(
    server: Server, tmp_path: Path
) -> None:
    listing = [{"name": NAME, "size": len(ARCHIVE), "md5": hashlib.md5(ARCHIVE).hexdigest()}]
    server.behaviour.files["/model-list.json"] = json.dumps(listing).encode()
    unknown = (CatalogueEntry(NAME, "a test model", 1),)
    path = models.download(NAME, tmp_path, None, server.base_url, catalogue=unknown)
    assert models.layout_problem(path) is None
    assert server.behaviour.requests[0] == ("/model-list.json", None)


def test_a_list_that_disagrees_with_the_archive_is_a_damaged_download(
    server: Server, tmp_path: Path
) -> None:
    listing = [{"name": NAME, "size": len(ARCHIVE) + 1, "md5": "0" * 32}]
    server.behaviour.files["/model-list.json"] = json.dumps(listing).encode()
    unknown = (CatalogueEntry(NAME, "a test model", 1),)
    with pytest.raises(ModelError, match="damaged"):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=unknown)


def test_a_list_without_the_model_is_an_error(server: Server, tmp_path: Path) -> None:
    server.behaviour.files["/model-list.json"] = b"[]"
    unknown = (CatalogueEntry(NAME, "a test model", 1),)
    with pytest.raises(ModelError, match="has no checksum for tiny-model"):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=unknown)
    assert [path for path, _ in server.behaviour.requests] == ["/model-list.json"]


def test_an_archive_without_a_model_is_not_installed(server: Server, tmp_path: Path) -> None:
    archive = make_zip({f"{NAME}/README": b"not a model"})
    server.behaviour.files[f"/{NAME}.zip"] = archive
    digest = hashlib.sha256(archive).hexdigest()
    with pytest.raises(ModelError, match=r"holds no usable model.*am/final\.mdl"):
        models.download(NAME, tmp_path, None, server.base_url, catalogue=entry(digest))
    assert leftovers(tmp_path) == []


def test_an_archive_with_unsafe_paths_is_refused(server: Server, tmp_path: Path) -> None:
    archive = make_zip({**model_files(NAME), "../escape.txt": b"x"})
    server.behaviour.files[f"/{NAME}.zip"] = archive
    digest = hashlib.sha256(archive).hexdigest()
    with pytest.raises(ModelError, match="unsafe path"):
        models.download(NAME, tmp_path / "models", None, server.base_url, catalogue=entry(digest))
    assert not (tmp_path / "escape.txt").exists()


def test_a_missing_archive_is_a_one_line_error(server: Server, tmp_path: Path) -> None:
    del server.behaviour.files[f"/{NAME}.zip"]
    with pytest.raises(ModelError, match="HTTP 404") as error:
        models.download(NAME, tmp_path, None, server.base_url, catalogue=entry())
    assert "\n" not in str(error.value)


def test_an_unreachable_server_says_so(tmp_path: Path) -> None:
    # Port 9 (discard) on the loopback: nothing listens there in a test machine.
    with pytest.raises(ModelError, match=r"cannot reach http://127\.0\.0\.1:9/"):
        models.download(NAME, tmp_path, None, "http://127.0.0.1:9/", catalogue=entry())


def test_an_unknown_name_lists_the_catalogue() -> None:
    with pytest.raises(ModelError, match=r"vosk-model-small-en-us-0\.15"):
        models.download("vosk-model-huge", Path("/nonexistent"))


# --- layout, use and the model in use -------------------------------------------------------


class Settings(dict[str, str]):
    def get_setting(self, key: str) -> str | None:
        return self.get(key)

    def set_setting(self, key: str, value: str) -> None:
        self[key] = value


def write_model(folder: Path, grammar: bool = False) -> Path:
    for inner, data in model_files("m").items():
        path = folder / inner.removeprefix("m/")
        if grammar and path.name == "HCLG.fst":
            path = path.with_name("HCLr.fst")
            (path.parent).mkdir(parents=True, exist_ok=True)
            (path.parent / "Gr.fst").write_bytes(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@pytest.mark.parametrize(
    ("remove", "problem"),
    [
        ("am/final.mdl", "has no am/final.mdl"),
        ("conf/model.conf", "has no conf/model.conf"),
        ("graph/HCLG.fst", "neither graph/HCLG.fst nor graph/HCLr.fst"),
    ],
)
def test_layout_problems_are_named(tmp_path: Path, remove: str, problem: str) -> None:
    folder = write_model(tmp_path / "model")
    assert models.layout_problem(folder) is None
    (folder / remove).unlink()
    assert problem in (models.layout_problem(folder) or "")


def test_a_grammar_model_layout_is_accepted(tmp_path: Path) -> None:
    assert models.layout_problem(write_model(tmp_path / "model", grammar=True)) is None
    assert "does not exist" in (models.layout_problem(tmp_path / "nothing") or "")


def test_the_model_in_use_comes_from_option_setting_or_default(tmp_path: Path, home: Path) -> None:
    settings = Settings()
    assert models.model_in_use(None, settings) is None
    default = write_model(models.models_dir() / models.DEFAULT_MODEL)
    assert models.model_in_use(None, settings) == default
    chosen = write_model(tmp_path / "chosen")
    models.use_model(chosen, settings)
    assert settings[models.MODEL_SETTING] == str(chosen.resolve())
    assert models.model_in_use(None, settings) == chosen.resolve()
    explicit = write_model(tmp_path / "explicit")
    assert models.model_in_use(explicit, settings) == explicit.resolve()
    with pytest.raises(ModelError, match="does not exist"):
        models.model_in_use(tmp_path / "missing", settings)


def test_a_chosen_model_that_went_missing_is_an_error(tmp_path: Path) -> None:
    settings = Settings({models.MODEL_SETTING: str(tmp_path / "gone")})
    with pytest.raises(ModelError, match=r"cannot be loaded.*models use PATH"):
        models.model_in_use(None, settings)


def test_models_live_under_attune_home(home: Path) -> None:
    assert models.models_dir() == home / "models"


# --- the commands ------------------------------------------------------------------------------


def test_models_path_and_use(tmp_path: Path, home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "path"])
    assert result.exit_code == 0
    assert result.output.strip() == str(home / "models")
    folder = write_model(tmp_path / "mine")
    result = runner.invoke(cli, ["models", "use", str(folder)])
    assert result.exit_code == 0, result.output
    assert str(folder.resolve()) in result.output
    listed = json.loads(runner.invoke(cli, ["models", "list", "--format", "json"]).output)
    assert listed["in_use"] == str(folder.resolve())
    assert listed["models"][0]["name"] == models.DEFAULT_MODEL


def test_models_use_of_a_wrong_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["models", "use", str(tmp_path / "empty")])
    assert result.exit_code == ModelError.exit_code
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("attune-voice: ")
    assert "no am/final.mdl" in result.stderr


def test_models_download_from_a_mirror(server: Server, home: Path) -> None:
    name = models.DEFAULT_MODEL
    archive = make_zip(model_files(name))
    server.behaviour.files[f"/{name}.zip"] = archive
    listing = [{"name": name, "size": len(archive), "md5": hashlib.md5(archive).hexdigest()}]
    server.behaviour.files["/model-list.json"] = json.dumps(listing).encode()
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "download", name, "--mirror", server.base_url])
    assert result.exit_code == 0, result.output
    assert f"Installed {name} in {home / 'models' / name}" in result.stdout
    listed = json.loads(runner.invoke(cli, ["models", "list", "--format", "json"]).output)
    assert listed["models"][0]["installed"] == str(home / "models" / name)
    assert listed["models"][0]["in_use"] is True
    again = runner.invoke(cli, ["models", "download", name, "--mirror", server.base_url])
    assert "already installed" in again.stdout


def test_models_download_of_an_unknown_name_fails_clearly() -> None:
    result = CliRunner().invoke(cli, ["models", "download", "vosk-model-huge"])
    assert result.exit_code == ModelError.exit_code
    assert "no published model is called 'vosk-model-huge'" in result.stderr
