"""The ``models`` commands (list, download, use, path) and the model a session listens with."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attune_voice.cli.app import AttuneGroup, cli, dump_json, text_or_json_option
from attune_voice.errors import ModelError

if TYPE_CHECKING:
    pass


@cli.group("models", cls=AttuneGroup)
def models_group() -> None:
    """Speech-recognition models: the published ones, download, use one, where they live."""


@models_group.command("list")
@text_or_json_option("text: for reading; json: for programs.")
def models_list(output: str) -> None:
    """The published models, which are installed, and the one in use."""
    from attune_voice.listening import models
    from attune_voice.store.database import Store

    with Store.open() as store:
        chosen = store.get_setting(models.MODEL_SETTING)
    where = models.models_dir()
    here = models.installed(where)
    in_use = _in_use(chosen, where)
    rows: list[dict[str, Any]] = [
        {
            "name": entry.name,
            "size_mb": entry.size_mb,
            "description": entry.description,
            "installed": str(here[entry.name]) if entry.name in here else None,
            "in_use": in_use is not None and in_use == here.get(entry.name),
        }
        for entry in models.CATALOGUE
    ]
    if output == "json":
        dump_json({"models": rows, "in_use": str(in_use) if in_use else None, "dir": str(where)})
        return
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        state = "in use" if row["in_use"] else "installed" if row["installed"] else ""
        click.echo(
            f"{row['name']:<{width}}  {row['size_mb']:>4} MB  {state:<9}  {row['description']}"
        )
    if in_use is not None and not any(row["in_use"] for row in rows):
        click.echo(f"In use: {in_use}")
    elif in_use is None:
        click.echo(f"No model in use. Get one with: attune-voice models download {rows[0]['name']}")


def _in_use(chosen: str | None, where: Path) -> Path | None:
    from attune_voice.listening import models

    if chosen:
        return Path(chosen)
    default = where / models.DEFAULT_MODEL
    return default if models.layout_problem(default) is None else None


@models_group.command("download")
@click.argument("name")
@click.option(
    "--mirror",
    metavar="URL",
    help="Fetch from this folder of models instead of the published one.",
)
def models_download(name: str, mirror: str | None) -> None:
    """Download a published model into the models folder (resumes an interrupted one)."""
    from attune_voice.listening import models

    entry = models.catalogue_entry(name)
    where = models.models_dir()
    if models.layout_problem(where / name) is None:
        click.echo(f"{name} is already installed in {where / name}")
        return
    with ExitStack() as stack:
        bar: Any = None

        def progress(done: int, total: int | None) -> None:
            nonlocal bar
            if bar is None:
                # Drawn once bytes flow, so a failure before that stays one clean line.
                bar = stack.enter_context(
                    click.progressbar(
                        length=total or entry.size_mb * 1_000_000, label=name, file=sys.stderr
                    )
                )
            if total:
                bar.length = total
            bar.update(done - bar.pos)

        try:
            path = models.download(name, where, progress, base_url=mirror or models.MODELS_URL)
        except KeyboardInterrupt as e:
            raise ModelError(
                f"the download of {name} was interrupted; run the same command again to resume it"
            ) from e
    click.echo(f"Installed {name} in {path}")
    if name != models.DEFAULT_MODEL:
        click.echo(f"Listen with it in every session: attune-voice models use {path}")


@models_group.command("use")
@click.argument("path", type=click.Path(path_type=Path))
def models_use(path: Path) -> None:
    """Listen with the model in PATH (a vosk model folder already on disk)."""
    from attune_voice.listening import models
    from attune_voice.store.database import Store

    with Store.open() as store:
        chosen = models.use_model(path, store)
    click.echo(f"Sessions will listen with the model in {chosen}")


@models_group.command("path")
def models_path() -> None:
    """Print the folder where downloaded models live."""
    from attune_voice.listening import models

    click.echo(str(models.models_dir()))
