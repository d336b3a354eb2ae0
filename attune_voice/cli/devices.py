"""The device commands: list and choose the microphone and speakers, and check the room."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import click

from attune_voice.cli.app import (
    cli,
    dump_json,
    format_stats,
    remembered_partners,
    session_voice,
    text_or_json_option,
    voice_option,
    warn,
)
from attune_voice.errors import UsageError

if TYPE_CHECKING:
    from attune_voice.audio.devices import DeviceInfo
    from attune_voice.session.room_check import Finding, RoomCheckResult


# --- devices ------------------------------------------------------------------------------


@cli.command(short_help="List microphones and speakers; --save remembers a choice.")
@click.option("--input", "input_device", help="Microphone to use: a name fragment or an index.")
@click.option("--output", "output_device", help="Speakers to use: a name fragment or an index.")
@click.option(
    "--latency",
    help="Sound buffer in seconds (more delays every prompt; it does not stop the sound "
    "running dry): 0.1, or input,output like 0.08,0.1, or low or high.",
)
@click.option(
    "--save",
    is_flag=True,
    help="Remember --input/--output/--latency for run and check (in config.toml).",
)
@click.option("--forget", is_flag=True, help="Forget the saved choice: use the defaults.")
@text_or_json_option("text: for reading; json: for programs.")
def devices(
    input_device: str | None,
    output_device: str | None,
    latency: str | None,
    save: bool,
    forget: bool,
    output: str,
) -> None:
    """List microphones and speakers; --save remembers which ones to use.

    The system defaults are marked with *, and the devices run and check will use
    with >.
    """
    from attune_voice.audio.devices import find_device, list_devices
    from attune_voice.store.settings_file import (
        Settings,
        checked_latency,
        load_settings,
        save_settings,
        settings_path,
    )

    given = (input_device, output_device, latency)
    if save and forget:
        raise UsageError("--save and --forget do opposite things; give one of them")
    if save and all(option is None for option in given):
        raise UsageError("--save needs --input, --output or --latency to remember")
    if forget and any(option is not None for option in given):
        raise UsageError("--forget takes no --input, --output or --latency")
    if latency is not None and not save:
        raise UsageError("--latency is only for --save: run and check then use it")
    if latency is not None:
        latency = checked_latency(latency)
    saved = load_settings()
    chosen_input = input_device if input_device is not None else saved.input_device
    chosen_output = output_device if output_device is not None else saved.output_device
    if forget:
        chosen_input = chosen_output = None
    found = list_devices()
    picked_input = find_device(chosen_input, "input") if chosen_input else None
    picked_output = find_device(chosen_output, "output") if chosen_output else None
    if save or forget:
        kept = Settings(
            input_device=_to_save(input_device, picked_input, saved.input_device),
            output_device=_to_save(output_device, picked_output, saved.output_device),
            latency=saved.latency if latency is None else latency,
            hear_through=saved.hear_through,
            voice=saved.voice,
        )
        # --forget is about the devices: the coach's voice and hearing through stay.
        saved = Settings(hear_through=saved.hear_through, voice=saved.voice) if forget else kept
        path = save_settings(saved)
        click.echo(f"{'Forgot the saved settings' if forget else 'Saved'} in {path}", err=True)
    buffer, source = _buffer(saved.latency)
    input_index = picked_input.index if picked_input else _default_index(found, "input")
    output_index = picked_output.index if picked_output else _default_index(found, "output")
    if output == "json":
        dump_json(
            {
                "devices": [_device_json(d) for d in found],
                "input": input_index,
                "output": output_index,
                "latency": buffer,
                "latency_from": source,
                "config": str(settings_path()),
            }
        )
        return
    for title, kind, used in (
        ("Microphones (input)", "input", input_index),
        ("Speakers (output)", "output", output_index),
    ):
        click.echo(f"{title}:")
        for device in found:
            channels = device.max_input_channels if kind == "input" else device.max_output_channels
            if channels == 0:
                continue
            default = device.is_default_input if kind == "input" else device.is_default_output
            mark = (">" if device.index == used else " ") + ("*" if default else " ")
            click.echo(
                f"{mark} {device.index:>3}  {device.name}  ({channels} ch, "
                f"{device.default_samplerate:g} Hz, {device.hostapi})"
            )
    click.echo("* system default   > used by run and check (change with --input/--output --save)")
    click.echo(f"Sound buffer: {buffer} ({source}; change with --latency ... --save)")


def _buffer(saved: str | None) -> tuple[str, str]:
    """The sound buffer run and check use, in words, and where it comes from."""
    from attune_voice.audio.latency import latency_choice

    used, source = latency_choice(saved)
    if isinstance(used, tuple):
        return f"{used[0]:g} s in, {used[1]:g} s out", source
    return (used if isinstance(used, str) else f"{used:g} s"), source


def _to_save(given: str | None, picked: DeviceInfo | None, saved: str | None) -> str | None:
    """What config.toml keeps: a name rather than an index, which changes with USB."""
    if given is None:
        return saved
    if picked is not None and given.strip().isdigit():
        return picked.name
    return given.strip()


def _default_index(found: list[DeviceInfo], kind: str) -> int | None:
    for device in found:
        if device.is_default_input if kind == "input" else device.is_default_output:
            return device.index
    return None


def _device_json(device: DeviceInfo) -> dict[str, Any]:
    return {
        "index": device.index,
        "name": device.name,
        "input_channels": device.max_input_channels,
        "output_channels": device.max_output_channels,
        "default_samplerate_hz": device.default_samplerate,
        "hostapi": device.hostapi,
        "default_input": device.is_default_input,
        "default_output": device.is_default_output,
    }


# --- check --------------------------------------------------------------------------------


@cli.command(short_help="A one-minute room check by voice; run uses what it finds.")
@click.option("--partners", help='The two partners\' names, "Sam,Alex" (remembered).')
@click.option("--input", "input_device", help="Microphone: a name fragment or an index.")
@click.option("--output", "output_device", help="Speakers: a name fragment or an index.")
@text_or_json_option("text: for reading; json: for programs.")
@voice_option
def check(
    partners: str | None,
    input_device: str | None,
    output_device: str | None,
    output: str,
    voice: str | None,
) -> None:
    """A one-minute room check by voice; run uses what it finds.

    It measures the room's noise, asks each of you to say a sentence, checks that its
    own voice is not heard as speech, and says what to change.
    """
    from attune_voice.audio.stream import DeviceAudio
    from attune_voice.session.room_check import (
        SETTING_KEY,
        EchoFigures,
        RoomCheck,
        microphone_balance_db,
    )
    from attune_voice.session.wiring import device_choice, device_notices
    from attune_voice.store.database import Store
    from attune_voice.voice.coach import CoachVoice
    from attune_voice.voice.player import PromptVoicePlayer

    voice_name = session_voice(voice)
    input_device, output_device, latency = device_choice(input_device, output_device)
    with Store.open() as store:
        names = remembered_partners(partners, store)
    click.echo(
        f"Checking the room for {names[0]} and {names[1]}: listen to the coach, it takes "
        "about a minute.",
        err=True,
    )
    renderer = CoachVoice(voice_name)
    with DeviceAudio(input_device, output_device, latency=latency) as audio:
        audio.on_status = device_notices(audio, renderer, warn)
        room_check = RoomCheck(names, PromptVoicePlayer(renderer, audio), audio.channels)
        for frame in audio.frames():
            room_check.feed(frame)
            if room_check.done:
                break
        stats = audio.stats()
    echo = stats.echo
    figures = None
    if echo is not None:
        figures = EchoFigures(echo.delay_ms, echo.gain_db, echo.leak_db, echo.leaked_ms)
    result = dataclasses.replace(room_check.result(figures), input_device=input_device or "")
    with Store.open() as store:
        store.set_setting(SETTING_KEY, result.dumps())
    found = room_check.findings
    if output == "json":
        data = result.to_json()
        if audio.channels == 2:
            data["microphone_balance_db"] = round(microphone_balance_db(result), 1)
        data["findings"] = [{"code": f.code, "text": f.text} for f in found]
        data["audio"] = {
            "overflows": stats.overflows,
            "underflows": stats.underflows,
            "worst_callback_ms": round(stats.worst_callback_ms, 2),
        }
        dump_json(data)
        return
    _print_check(result, found)
    click.echo(format_stats(stats), err=True)


def _level(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} dBFS"


def _print_check(result: RoomCheckResult, found: list[Finding]) -> None:
    from attune_voice.session.room_check import (
        detector_config,
        louder_microphone_first,
        microphone_balance_db,
        partner_nearness_db,
    )

    click.echo(
        f"room noise     {_level(result.noise_dbfs)} (bumps to {_level(result.noise_peak_dbfs)})"
    )
    for partner in result.partners:
        above = ""
        if partner.level_dbfs is not None:
            above = f", {partner.level_dbfs - result.noise_dbfs:.0f} dB above the room"
        apart = ""
        if partner.apart_db is not None:
            apart = f"; {partner.apart_db:.0f} dB lower on the other microphone"
        click.echo(
            f"{partner.name:<14} {_level(partner.level_dbfs)}{above}; heard "
            f"{partner.heard_s:.1f} s{apart}"
        )
    nearness = partner_nearness_db(result)
    if len(nearness) == 2:
        balance_db = microphone_balance_db(result)
        louder, quieter = louder_microphone_first(result)
        alike = (
            "alike"
            if round(abs(balance_db)) == 0
            else (f"{louder.name}'s hears {abs(balance_db):.0f} dB more than {quieter.name}'s")
        )
        (a, a_db), (b, b_db) = nearness
        if round(a_db) == round(b_db):
            near = f"each of you {a_db:.0f} dB nearer your own"
        else:
            near = f"{a.name} {a_db:.0f} dB nearer their own, {b.name} {b_db:.0f} dB"
        click.echo(f"microphones    {alike}; {near}")
    echo = result.echo
    heard = "yes" if result.prompt_speech_s > 0 else "no"
    if echo is not None and echo.delay_ms is not None:
        click.echo(
            f"coach's echo   {echo.delay_ms:.0f} ms late, {echo.gain_db or 0.0:.0f} dB; "
            f"taken for speech: {heard}"
        )
    else:
        click.echo(f"coach's echo   not heard; taken for speech: {heard}")
    detector = detector_config(result)
    click.echo(
        f"run will use   speech edges where the sound stands "
        f"{detector.sound_margin_db:g} dB above the room"
    )
    click.echo("")
    for finding in found:
        click.echo(f"- {finding.text}")
