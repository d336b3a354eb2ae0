"""The ``attune-voice exercises`` commands: list, show, write and check exercise scripts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from attune_voice.cli.app import (
    dump_json,
    fail,
    limit_option,
    listing_group,
    load_cli_exercise,
    rounds_option,
)
from attune_voice.errors import ScriptError, UsageError
from attune_voice.exercises.model import Exercise


def _source_label(exercise: Exercise) -> str:
    return "built-in" if exercise.source.startswith("builtin:") else exercise.source


def _row(exercise: Exercise) -> dict[str, Any]:
    from attune_voice.exercises.timing import estimated_duration_s

    return {
        "name": exercise.name,
        "title": exercise.title,
        "skill": exercise.skill,
        "goal": exercise.goal,
        "duration_s": round(estimated_duration_s(exercise)),
        "rounds": exercise.rounds,
        "limit_s": exercise.limit_s,
        "source": _source_label(exercise),
    }


def _list_exercises(output: str) -> None:
    from attune_voice.exercises.folders import custom_folder
    from attune_voice.exercises.library import library

    found, notes = library()
    rows = [_row(exercise) for exercise in found]
    for note in notes:
        click.echo(f"attune-voice: {note}", err=True)
    if output == "json":
        dump_json(rows)
        return
    from attune_voice.review.text import text_table

    lines = text_table(
        ["exercise", "skill", "length", "goal"],
        [
            [
                row["name"],
                row["skill"],
                f"{max(1, round(row['duration_s'] / 60))} min",
                row["goal"] + ("" if row["source"] == "built-in" else "  (yours)"),
            ]
            for row in rows
        ],
        right=(2,),
    )
    for line in lines:
        click.echo(line)
    click.echo(
        f"\nLengths are with every floor used in full. Your own exercises go in "
        f"{custom_folder()}; start one with: attune-voice exercises new NAME"
    )


exercises = listing_group(
    "exercises",
    "List the exercises (or show, write or check one).",
    "List the exercises: name, skill, length and goal (show, write or check one).",
    "List the exercises (the same as attune-voice exercises).",
    _list_exercises,
)


@exercises.command("show")
@click.argument("name")
@limit_option
@rounds_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "toml"]),
    default="text",
    show_default=True,
    help="text: the steps and timings; json: the same for programs; toml: the script itself.",
)
def exercises_show(name: str, limit: str | None, rounds: int | None, output: str) -> None:
    """Print an exercise's whole script (a name or a .toml file)."""
    from attune_voice.exercises.describe import describe
    from attune_voice.exercises.library import script_text
    from attune_voice.exercises.timing import estimated_duration_s

    exercise = load_cli_exercise(name, limit, rounds)
    if output == "toml":
        click.echo(script_text(name)[0], nl=False)
    elif output == "json":
        data = dataclasses.asdict(exercise)
        # A set has no JSON form: the purposes, in a stable order.
        data["may_cut"] = sorted(exercise.may_cut)
        data["duration_s"] = round(estimated_duration_s(exercise))
        data["steps"] = [
            {"round": number, **dataclasses.asdict(step)} for number, step in exercise.unrolled()
        ]
        dump_json(data)
    else:
        for line in describe(exercise):
            click.echo(line)


@exercises.command("new")
@click.argument("name")
@click.option(
    "--from",
    "origin",
    metavar="EXERCISE",
    help="Start from a copy of this exercise (a name or a .toml file) instead of the template.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of your exercises folder; - prints it.",
)
def exercises_new(name: str, origin: str | None, output: Path | None) -> None:
    """Write a commented script to adapt, into your exercises folder."""
    from attune_voice.exercises.folders import builtin_names, custom_folder, is_exercise_name
    from attune_voice.exercises.library import copy_of_script, exercise_template
    from attune_voice.store.paths import write_private

    if not is_exercise_name(name):
        raise UsageError(
            f'"{name}" cannot name an exercise; use lowercase letters, digits and hyphens, '
            "like my-talk"
        )
    if name in builtin_names():
        raise UsageError(
            f"{name} is a built-in exercise; give yours its own name, or adapt a copy: "
            f"attune-voice exercises new my-{name} --from {name}"
        )
    text = exercise_template(name) if origin is None else copy_of_script(origin, name)
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return
    target = output if output is not None else custom_folder() / f"{name}.toml"
    if target.exists():
        raise UsageError(f"{target} already exists; edit it, or choose another name")
    try:
        if output is None:
            # Only the exercises folder is ours to make; --output names an existing one.
            target.parent.mkdir(parents=True, exist_ok=True)
        elif not target.parent.is_dir():
            raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")
        write_private(target, text.encode("utf-8"), exclusive=True)
    except OSError as e:
        raise ScriptError(f"cannot write {target}: {e.strerror or e}") from e
    check_as = name if output is None else str(target)
    click.echo(f"Wrote {target}")
    click.echo(f"Edit it, check it with: attune-voice exercises check {check_as}")
    click.echo(f"then try it with:       attune-voice demo {check_as}")


@exercises.command("check")
@click.argument("scripts", nargs=-1, required=True, metavar="FILE_OR_NAME...")
def exercises_check(scripts: tuple[str, ...]) -> None:
    """Check scripts: every problem with its line and a fix.

    Each FILE_OR_NAME is a .toml file, one of your exercises or a built-in one.
    """
    from attune_voice.exercises.folders import (
        builtin_names,
        builtin_text,
        custom_folder,
        custom_names,
    )
    from attune_voice.exercises.loader import check_exercise_file, check_exercise_text
    from attune_voice.exercises.timing import estimated_duration_s

    total = 0
    broken: list[str] = []
    for script in scripts:
        path = Path(script).expanduser()
        if not path.is_file() and script in builtin_names():
            source = f"builtin:{script}"
            exercise, problems = check_exercise_text(builtin_text(script), source)
        else:
            if not path.is_file() and script in custom_names():
                path = custom_folder() / f"{script}.toml"
            source = str(path)
            exercise, problems = check_exercise_file(path)
        for problem in problems:
            click.echo(problem.at(source), err=True)
        if problems or exercise is None:
            total += len(problems)
            broken.append(source)
            continue
        minutes = max(1, round(estimated_duration_s(exercise) / 60))
        steps = len(exercise.unrolled())
        click.echo(f"{source}: ok — {exercise.title}, {steps} steps, about {minutes} min")
    if broken:
        found = f"{total} problem{'s' if total != 1 else ''} found"
        scripts_with = f"{len(broken)} script{'s' if len(broken) != 1 else ''}"
        fail(f"{broken[0]}: {found}" if len(scripts) == 1 else f"{found} in {scripts_with}")
