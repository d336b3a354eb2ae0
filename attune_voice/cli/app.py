"""The command group, the options several commands share, and how errors reach the terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

# numpy's BLAS would start a thread per core for the small matrix products of the
# resampler and the detector; on a two-core Raspberry Pi that contention costs far
# more than it gains. Set before anything imports numpy; a user's setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path

import click

from attune_voice import __version__
from attune_voice.bounds import (
    FLOOR_LIMIT_S,
    ROUNDS,
    Bound,
    partner_name_problem,
    partner_names_problem,
)
from attune_voice.durations import parse_duration_s
from attune_voice.errors import AttuneError, UsageError
from attune_voice.exercises.model import Exercise

if TYPE_CHECKING:
    from attune_voice.audio.stream_state import DeviceStats

DEMO_HINT = "attune-voice demo"


class ReportedError(click.ClickException):
    """An AttuneError shown as one line with its own exit code."""

    def __init__(self, error: AttuneError) -> None:
        super().__init__(str(error))
        self.exit_code: int = error.exit_code  # type: ignore[misc]  # click sets it per class

    def show(self, file: Any = None) -> None:
        click.echo(f"attune-voice: {self.format_message()}", err=True)


class OneLineUsageError(click.UsageError):
    """click's own complaint about the command line (an unknown option, a missing value),
    shown as one line like every other error, with where to read more."""

    def show(self, file: Any = None) -> None:
        message = self.format_message().rstrip(".")
        where = f" (see: {self.ctx.command_path} --help)" if self.ctx is not None else ""
        click.echo(f"attune-voice: {message}{where}", err=True)


def _one_line(e: click.UsageError) -> click.UsageError:
    # A bare group (no command given) shows its help, as click (8.2 on) means it to.
    shows_help = getattr(click.exceptions, "NoArgsIsHelpError", OneLineUsageError)
    if isinstance(e, OneLineUsageError | shows_help):
        return e
    return OneLineUsageError(" ".join(e.format_message().split()), e.ctx)


class AttuneGroup(click.Group):
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except AttuneError as e:
            raise ReportedError(e) from e
        except click.UsageError as e:
            raise _one_line(e) from e

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AttuneError as e:
            raise ReportedError(e) from e
        except click.UsageError as e:
            raise _one_line(e) from e


def warn(message: str) -> None:
    """One line for the person at the terminal, on stderr, while the command goes on."""
    click.echo(f"attune-voice: {message}", err=True)


def fail(message: str, exit_code: int = 2) -> NoReturn:
    error = UsageError(message)
    error.exit_code = exit_code
    raise ReportedError(error)


# --- shared options -------------------------------------------------------------------


def parse_partners(text: str, *, source: str = "--partners") -> tuple[str, str]:
    """Two names from "Sam,Alex"; ``UsageError`` naming ``source`` when they cannot be used."""
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or not all(names):
        raise UsageError(
            f'{source} takes two names separated by a comma, like "Sam,Alex"; got {_short(text)!r}'
        )
    problem = partner_names_problem(names)
    if problem is not None:
        raise UsageError(f"{source}: {problem}")
    return names[0], names[1]


def parse_limit(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        limit_s = parse_duration_s(text)
    except ValueError as e:
        raise UsageError(f"--limit: {e}") from e
    if not FLOOR_LIMIT_S.contains(limit_s):
        size = "too short" if limit_s < FLOOR_LIMIT_S.low else "too long"
        raise UsageError(f"--limit {text} is {size} for a turn; use {FLOOR_LIMIT_S.said()}")
    return limit_s


def load_cli_exercise(name: str, limit: str | None, rounds: int | None) -> Exercise:
    from attune_voice.exercises.library import load_exercise

    limit_s = parse_limit(limit)
    return load_exercise(name).with_overrides(limit_s=limit_s, rounds=rounds)


class Counted(click.ParamType[int]):
    """A whole number inside ``bound``; anything else fails the command in one line."""

    name = "integer"

    def __init__(self, bound: Bound) -> None:
        self.bound = bound

    def convert(self, value: Any, param: click.Parameter | None, ctx: Any) -> int:
        option = _option_name(param)
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            raise UsageError(
                f"{option} takes a whole number, {self.bound.said()}; not {_short(value)}"
            ) from None
        if not self.bound.contains(number):
            raise UsageError(f"{option} {_short(value)} is out of range; use {self.bound.said()}")
        return number


class Measured(click.ParamType[float]):
    """A finite number inside ``bound`` (NaN and infinities never are)."""

    name = "number"

    def __init__(self, bound: Bound) -> None:
        self.bound = bound

    def convert(self, value: Any, param: click.Parameter | None, ctx: Any) -> float:
        option = _option_name(param)
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise UsageError(
                f"{option} takes a number, {self.bound.said()}; not {_short(value)}"
            ) from None
        if not self.bound.contains(number):
            raise UsageError(f"{option} {_short(value)} is out of range; use {self.bound.said()}")
        return number


def _option_name(param: click.Parameter | None) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return (param.name or "the value").upper() if param is not None else "the value"


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:21]}..."


def dump_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


F = TypeVar("F", bound=Callable[..., Any])
"""A click command function, as a decorator takes and gives it back."""


def text_or_json_option(help_text: str) -> Callable[[F], F]:
    """``--format text|json``, with ``help_text`` saying what each gives."""
    return click.option(
        "--format",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=help_text,
    )


list_format_option = text_or_json_option("How to print the list.")
"""``--format text|json`` for the commands that list things (sessions, exercises)."""


def listing_group(
    name: str, short_help: str, help_text: str, list_help: str, lister: Callable[[str], None]
) -> click.Group:
    """A command group of ``cli`` that lists its things (``lister``, given the format)
    when no subcommand follows, with ``list`` (``list_help``) as the same: ``sessions``,
    ``exercises`` and ``voices``."""

    @cli.group(
        name,
        cls=AttuneGroup,
        invoke_without_command=True,
        short_help=short_help,
        help=help_text,
    )
    @list_format_option
    @click.pass_context
    def group(ctx: click.Context, output: str) -> None:
        if ctx.invoked_subcommand is None:
            lister(output)

    @group.command("list", help=list_help)
    @list_format_option
    def listed(output: str) -> None:
        lister(output)

    return group


limit_option = click.option(
    "--limit",
    metavar="DURATION",
    help=f"Floor time per turn, e.g. 90s, 2m, 1m30s ({FLOOR_LIMIT_S.said()}).",
)
rounds_option = click.option(
    "--rounds", type=Counted(ROUNDS), help=f"Number of rounds ({ROUNDS.said()})."
)


voice_option = click.option(
    "--voice",
    help="The coach's voice this time (default: the one in use; see attune-voice voices).",
)


hear_through_option = click.option(
    "--hear-through",
    is_flag=True,
    default=None,
    help="Hear the couple while the coach speaks (echo cancellation; talking over a"
    " reminder stops it). Off by default: the microphone closes around each prompt."
    " Also ATTUNE_HEAR_THROUGH=1, or hear_through = true under [audio] in config.toml.",
)


T = TypeVar("T")


def first_given(
    option: T | None, env_name: str, from_env: Callable[[str], T], saved: T | None
) -> T | None:
    """A session setting as every one is chosen: the command line's option, else the
    environment variable (read by ``from_env``), else config.toml's; None if none is set."""
    if option is not None:
        return option
    value = os.environ.get(env_name, "").strip()
    if value:
        return from_env(value)
    return saved


def _on_off(value: str) -> bool:
    if value not in ("1", "0"):
        raise UsageError(f"ATTUNE_HEAR_THROUGH={value}: use 1 (on) or 0 (off)")
    return value == "1"


def session_hear_through(option: bool | None) -> bool:
    """Whether to hear through the prompts: --hear-through, else $ATTUNE_HEAR_THROUGH
    ("1" or "0"), else config.toml's ``audio.hear_through``, else off."""
    from attune_voice.store.settings_file import load_settings

    # The flag has no "off" form: left out, it is not given.
    saved = load_settings().hear_through
    return bool(first_given(option or None, "ATTUNE_HEAR_THROUGH", _on_off, saved))


def session_voice(option: str | None) -> str:
    """The coach's voice: --voice, else $ATTUNE_VOICE, else config.toml's, else espeak-ng;
    checked, so a name that cannot be used stops the command in one line before anything
    starts."""
    from attune_voice.store.settings_file import load_settings
    from attune_voice.voice.coach import DEFAULT_VOICE, VOICE_ENV, resolve

    given = first_given(option, VOICE_ENV, str, load_settings().voice)
    return DEFAULT_VOICE if given is None else resolve(given)


@click.group(
    "attune-voice", cls=AttuneGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="attune-voice")
def cli() -> None:
    """A screen-free voice coach for couples: timed speaker-listener practice, offline."""


# --- sessions: demo and run ------------------------------------------------------------


class Progress:
    """A progress bar on stderr for long work (a demo, the analysis of a long file, a
    model download): how far it has gone and what remains.

    Drawn only on a terminal and cleared when done, so piped or redirected output
    carries none of it. Called with how much is done (seconds, or bytes for a
    download), and the total when it becomes known.
    """

    def __init__(self, label: str, total: float | None, *, unit: str = "seconds") -> None:
        self._bar: Any = None
        self._total = total
        self._seconds = unit == "seconds"
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TaskProgressColumn,
            TextColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as Bar

        counts = (
            [DownloadColumn(), TransferSpeedColumn()]
            if unit == "bytes"
            else [TextColumn("{task.fields[done]}")]
        )
        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            *counts,
            _remaining_column(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, done="")

    def __call__(self, done: float, total: float | None = None) -> None:
        if self._bar is None:
            return
        if total:
            self._total = total
        if self._total is not None and done > self._total:
            # An estimate ran short: the bar stays full rather than past its end.
            self._total = done
        shown = ""
        if self._seconds:
            shown = _clock(done)
            if self._total:
                shown += f" of about {_clock(self._total)}"
        self._bar.update(self._task, completed=done, total=self._total, done=shown)

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _clock(seconds: float) -> str:
    from attune_voice.review.text import clock

    return clock(seconds)


def _remaining_column() -> Any:
    """A column of the time the work has left, as m:ss like every length shown."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Remaining(ProgressColumn):
        def render(self, task: Task) -> Text:
            left_s = task.time_remaining
            return Text("" if left_s is None else f"{_clock(left_s)} left", style="dim")

    return Remaining()


def transcript_model(model: Path | None) -> Path:
    """The model that recognises the words for ``--transcripts`` (``--model``, else the
    one in use), or a ModelError saying what is missing and the command that gets it."""
    from attune_voice.errors import ModelError
    from attune_voice.listening import models
    from attune_voice.store.database import Store

    with Store.open(create=False) as store:
        path = models.model_in_use(model, store)
    if path is None:
        raise ModelError(
            "--transcripts needs a speech model to recognise the words, and none is "
            f"installed; get one with: attune-voice models download {models.DEFAULT_MODEL}"
            " (or name a model folder with --model)"
        )
    return path


def remembered_partners(partners: str | None, store: Any) -> tuple[str, str]:
    """The partners' names: --partners (then remembered), else remembered, else asked."""
    if partners is not None:
        names = parse_partners(partners)
        store.set_setting("partners", ",".join(names))
        return names
    saved = store.get_setting("partners")
    if saved:
        return parse_partners(
            saved, source='the remembered names (give new ones with --partners "A,B")'
        )
    if not sys.stdin.isatty():
        return ("Partner A", "Partner B")
    first = _ask_name("First partner's name", "Partner A", None)
    second = _ask_name("Second partner's name", "Partner B", first)
    store.set_setting("partners", f"{first},{second}")
    return first, second


def _ask_name(question: str, default: str, other: str | None) -> str:
    """One name typed at the terminal, asked again until it can be used."""
    while True:
        name = click.prompt(question, err=True).strip() or default
        if "," in name:
            problem: str | None = "a name cannot hold a comma"
        elif other is None:
            problem = partner_name_problem(name)
        else:
            problem = partner_names_problem([other, name])
        if problem is None:
            return name
        warn(problem)


def format_stats(stats: DeviceStats) -> str:
    """One line on how the audio went, for the end of a session or a check."""
    parts = [
        f"{stats.overflows} input overflows",
        f"{stats.underflows} output underflows",
        f"{stats.deaths} stream deaths ({stats.silent_deaths} without a glitch flag)",
        f"{stats.restarts} restarts ({stats.backoffs} put off)",
        f"{stats.stalls} stalls",
        f"{stats.catch_ups} catch-ups after a stall",
        f"lost {stats.losses} times",
        f"callback at most {stats.worst_callback_ms:.1f} ms",
        f"{stats.library_lines} sound-library lines (in sound-libraries.log)",
    ]
    echo = stats.echo
    if echo is not None and echo.delay_ms is not None:
        leak = "none" if echo.leak_db is None else f"{echo.leak_db:.0f} dB, {echo.leaked_ms:.0f} ms"
        parts.append(f"echo {echo.delay_ms:.0f} ms late, leaked {leak}")
    return "audio: " + ", ".join(parts)
