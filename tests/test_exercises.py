"""Exercise scripts: the built-in library loads, and broken scripts are named by line and fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attune_voice.errors import ScriptError
from attune_voice.exercises.checker import Problem
from attune_voice.exercises.describe import describe
from attune_voice.exercises.folders import builtin_names
from attune_voice.exercises.library import load_exercise
from attune_voice.exercises.loader import check_exercise_text, load_exercise_file
from attune_voice.exercises.model import (
    MAY_CUT,
    PLACEHOLDERS,
    Exercise,
    Sounds,
    StepKind,
    Who,
    fill_question,
    pick_question,
    pick_questions,
    says_question,
)
from attune_voice.exercises.timing import MAX_PROMPT_S, estimate_speech_s

DOCS = Path(__file__).resolve().parent.parent / "docs" / "exercises.md"

# A small valid script; broken cases below are written out whole so their line numbers show.
VALID = """\
name = "tiny"
skill = "empathy"
limit = "2m"
cues = ["1m", "30s"]

[[round]]
kind = "floor"
text = "{speaker}, you have the floor."

[[round]]
kind = "paraphrase"
text = "{listener}, what did you hear?"

[[round]]
kind = "confirm"
text = "{speaker}, did {listener} get it right?"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the built-in library -------------------------------------------------------------------


def test_builtin_names_are_the_shipped_scripts() -> None:
    assert builtin_names() == [
        "aftermath",
        "awareness",
        "dreams-within-conflict",
        "empathy",
        "four-horsemen",
        "love-maps",
        "non-defensive-listening",
        "repair-attempts",
        "softened-start-up",
        "speaker-listener",
        "speaker-listener-easy",
        "state-of-the-union",
        "stress-reducing-conversation",
        "tolerance",
        "turning-toward",
        "understanding",
    ]


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_loads_and_keeps_its_prompts_short(name: str) -> None:
    exercise = load_exercise(name)

    assert exercise.name == name
    assert exercise.title and exercise.goal and exercise.skill
    for _, step in exercise.unrolled():
        # About 25 seconds of calm speech at most, so a prompt never becomes a lecture.
        assert len(step.text.split()) <= 60, step.text
        assert step.kind is StepKind.SWAP or step.text


def test_speaker_listener_gives_each_partner_the_floor_once_per_round() -> None:
    exercise = load_exercise("speaker-listener")

    # The speaker's floor in pieces, each said back and confirmed, "is there more?", then
    # the listener's validation and empathy.
    one_round = [
        (StepKind.FLOOR, Who.SPEAKER),
        (StepKind.PARAPHRASE, Who.LISTENER),
        (StepKind.CONFIRM, Who.SPEAKER),
        (StepKind.MORE, Who.SPEAKER),
        (StepKind.FLOOR, Who.LISTENER),
        (StepKind.FLOOR, Who.LISTENER),
        (StepKind.SWAP, Who.SPEAKER),
    ] * 2
    expected = (
        [(0, StepKind.READY, Who.SPEAKER)]
        + [(0, StepKind.SAY, Who.SPEAKER)] * 7
        + [(1, kind, who) for kind, who in one_round]
        + [(2, kind, who) for kind, who in one_round]
        + [
            (0, StepKind.SAY, Who.SPEAKER),
            (0, StepKind.FLOOR, Who.PARTNER_A),
            (0, StepKind.FLOOR, Who.PARTNER_B),
            (0, StepKind.SAY, Who.SPEAKER),
        ]
    )
    assert [(n, s.kind, s.who) for n, s in exercise.unrolled()] == expected
    assert exercise.settings() == {
        "rounds": 2,
        "limit_s": 120.0,
        "paraphrase_limit_s": 45.0,
        "confirm_limit_s": 15.0,
        "cues_s": [60.0, 30.0],
        "max_attempts": 2,
        "break_s": 1200.0,
    }
    assert exercise.opening[0].text.startswith("Before we begin")
    assert (
        exercise.round[2].text
        == "{speaker}, did {listener} get it right? Say yes or not quite, or press Y or N."
    )
    assert [exercise.floor_limit_s(s) for s in exercise.closing if s.kind is StepKind.FLOOR] == [
        30.0,
        30.0,
    ]


def test_easy_variant_is_one_short_round_on_a_light_topic() -> None:
    exercise = load_exercise("speaker-listener-easy")

    assert (exercise.rounds, exercise.limit_s) == (1, 60.0)
    assert "best part of your week" in " ".join(s.text for s in exercise.opening)
    floors = [s for _, s in exercise.unrolled() if s.kind is StepKind.FLOOR]
    # Two turns of a minute in pieces of 30s with a cue at 30s left, each followed by the
    # listener's 30s of what makes sense; then two appreciations of 30s.
    assert [exercise.step_cues_s(s) for s in floors] == [(30.0,), (), (30.0,), (), (), ()]
    assert [s.piece_s for s in floors] == [30.0, None, 30.0, None, None, None]


def test_with_overrides_changes_limit_and_rounds() -> None:
    exercise = load_exercise("speaker-listener")

    changed = exercise.with_overrides(limit_s=90.0, rounds=3)

    assert (changed.limit_s, changed.rounds) == (90.0, 3)
    round_floors = [s for s in changed.round if s.kind is StepKind.FLOOR]
    # The speakers' floors take the new limit; the listener's short ones keep theirs.
    assert [changed.floor_limit_s(s) for s in round_floors] == [90.0, 45.0, 30.0] * 2
    assert changed.paraphrase_limit_s == exercise.paraphrase_limit_s
    assert len(changed.unrolled()) == len(exercise.opening + exercise.closing) + 3 * 14
    assert exercise.with_overrides(None, None) == exercise


def test_builtin_steps_carry_their_line_in_the_file() -> None:
    exercise = load_exercise("speaker-listener")
    text = Path(__file__).resolve().parent.parent / "attune_voice" / "exercises" / "builtin"
    lines = (text / "speaker-listener.toml").read_text(encoding="utf-8").splitlines()

    for step in exercise.opening + exercise.round + exercise.closing:
        assert re.fullmatch(r"\[\[(opening|round|closing)\]\]", lines[step.line - 1])


def test_describe_lists_timings_and_numbered_steps() -> None:
    lines = describe(load_exercise("speaker-listener"))

    assert lines[0] == "Speaker and listener (speaker-listener)"
    assert lines[2] == "Skill: non-defensive listening"
    assert lines[3].startswith("Timings: 2 rounds; floor 2m, paraphrase 45s, confirm 15s; cues at")
    assert lines[4] == "Length: about 39 minutes with every floor used in full"
    assert lines[5] == ('Hand-over: "i\'m done", "over to you", "that\'s all"; a break lasts 20m')
    assert lines[6] == "Sounds: bell before a cue, fall when a floor ends, bowl at the limit"
    assert lines[7] == (
        "Talked over (with --hear-through): its check-in, cue, more-time, overtime, piece-end,"
        " repeat prompts stop; the rest is said to the end"
    )
    assert "Round (\u00d72):" in lines
    assert lines[lines.index("Round (\u00d72):") + 1].startswith(
        "  9. floor (speaker, 2m in pieces of up to 40s, cues at 1m and 30s): {speaker}, you"
    )
    assert lines[lines.index("Round (\u00d72):") + 4].startswith(
        "  12. more (speaker, 15s, yes gives another piece): {speaker}, is there more?"
    )
    assert lines[-1].startswith("  26. say: Thank you both.")
    # Bids of a line or two have no time cues, and say so.
    assert "; no time cues; " in describe(load_exercise("turning-toward"))[3]


# --- loading by name or path ----------------------------------------------------------------


def test_load_exercise_takes_a_path_and_keeps_it_as_source(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)

    exercise = load_exercise(str(path))

    assert exercise.source == str(path)
    assert exercise.title == "Tiny"
    assert [s.who for s in exercise.round] == [Who.SPEAKER, Who.LISTENER, Who.SPEAKER]
    assert [s.line for s in exercise.round] == [6, 10, 14]


def test_a_relative_path_without_suffix_is_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "talk").write_text(VALID, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert load_exercise("./talk").name == "tiny"
    with pytest.raises(ScriptError, match=r"^missing\.toml: no such exercise script$"):
        load_exercise("missing.toml")


def test_unknown_name_lists_the_builtin_ones() -> None:
    with pytest.raises(ScriptError) as caught:
        load_exercise("speaker-listner")

    message = str(caught.value)
    assert '"speaker-listner"' in message
    assert 'did you mean "speaker-listener"?' in message
    assert "speaker-listener, speaker-listener-easy" in message or (
        "speaker-listener or speaker-listener-easy" in message
    )
    assert "\n" not in message


def test_docs_example_is_a_valid_script() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "docs/exercises.md should hold a complete example"

    exercise, problems = check_exercise_text(blocks[0], "docs")

    assert problems == []
    assert isinstance(exercise, Exercise)
    assert exercise.prompts.cue != ""


# --- broken scripts -------------------------------------------------------------------------

BROKEN: list[tuple[str, bytes | str | None, int | None, str]] = [
    (
        "misspelt placeholder",
        VALID.replace("{listener}, what", "{partnr}, what"),
        12,
        "unknown placeholder {partnr}; did you mean {partner_a}? the placeholders are "
        "{handover}, {holder}",
    ),
    (
        "duration in words",
        VALID.replace('limit = "2m"', 'limit = "two minutes"'),
        3,
        'limit "two minutes" is not a duration; write it like 90s, 2m or 1m30s',
    ),
    (
        "cue at the limit",
        VALID.replace('cues = ["1m", "30s"]', 'cues = ["2m", "30s"]'),
        4,
        "cue 2m is not before the limit 2m; a cue says how much time is LEFT, so it must be "
        "shorter than the limit",
    ),
    (
        "misspelt kind",
        VALID.replace('kind = "floor"', 'kind = "flor"'),
        7,
        'unknown step kind "flor"; did you mean "floor"?',
    ),
    (
        "text without quotes",
        VALID.replace('text = "{listener}, what did you hear?"', "text = what did you hear"),
        12,
        "TOML syntax error: Invalid value",
    ),
    (
        "step without text",
        VALID.replace('text = "{speaker}, you have the floor."\n', ""),
        6,
        'text is missing; add text = "..."',
    ),
    ("no rounds", VALID.replace('limit = "2m"', "rounds = 0"), 3, "rounds is 0; write rounds = 1"),
    (
        "rounds in quotes",
        VALID.replace('limit = "2m"', 'rounds = "2"'),
        3,
        'rounds must be a whole number, not "2"; write rounds = 2 without quotes',
    ),
    (
        "not UTF-8",
        VALID.replace('limit = "2m"', 'title = "Caf\udce9"').encode("utf-8", "surrogateescape"),
        3,
        "the file is not UTF-8 text (byte 0xe9); save it as UTF-8",
    ),
    ("missing file", None, None, "no such exercise script"),
    (
        "misspelt top-level key",
        VALID.replace('skill = "empathy"', 'skil = "empathy"'),
        2,
        "unknown key skil; did you mean skill?",
    ),
    (
        "misspelt step block",
        VALID.replace('[[round]]\nkind = "confirm"', '[[rouns]]\nkind = "confirm"'),
        14,
        "unknown key [[rouns]]; did you mean [[round]]?",
    ),
    (
        "confirm without a paraphrase",
        VALID.replace('kind = "paraphrase"', 'kind = "floor"'),
        14,
        "confirm step in [[round]] does not follow a paraphrase step; put a [[round]] step with "
        'kind = "paraphrase" just before it',
    ),
    (
        "misspelt who",
        VALID.replace('kind = "paraphrase"', 'kind = "paraphrase"\nwho = "listner"'),
        12,
        'unknown who "listner"; did you mean "listener"?',
    ),
    (
        "unclosed brace",
        VALID.replace("{speaker}, you have", "{speaker, you have"),
        8,
        'a "{" has no closing "}"; write {speaker}, or write {{ and }} for a literal brace',
    ),
    (
        "stray closing brace",
        VALID.replace("what did you hear?", "what did you hear?}"),
        12,
        'a "}" has no opening "{"',
    ),
    (
        "placeholder on a later line of a long text",
        VALID.replace(
            'text = "{listener}, what did you hear?"',
            'text = """\n{listener},\nwhat did\n{speakr} say?"""',
        ),
        15,
        "unknown placeholder {speakr}; did you mean {speaker}?",
    ),
    (
        "cue at a step's own limit",
        VALID.replace(
            'text = "{speaker}, you have the floor."',
            'text = "{speaker}, you have the floor."\nlimit = "30s"\ncues = ["30s"]',
        ),
        10,
        "cue 30s is not before the limit 30s",
    ),
    (
        "limit on a say step",
        VALID + '\n[[closing]]\nkind = "say"\ntext = "Goodbye."\nlimit = "1m"\n',
        21,
        "a say step gives nobody the floor, so it takes no limit",
    ),
    (
        "cues on a ready step",
        VALID + '\n[[closing]]\nkind = "ready"\ntext = "Choose."\nlimit = "1m"\ncues = ["9s"]\n',
        22,
        "a ready step gives nobody the floor, so it takes no cues",
    ),
    (
        "key written twice",
        VALID.replace('skill = "empathy"', 'skill = "empathy"\nname = "other"'),
        3,
        "name is written twice (first on line 1); keep one of them",
    ),
    (
        "array left open",
        VALID.replace('cues = ["1m", "30s"]', 'cues = ["1m",\n  "30s"\n'),
        4,
        'TOML syntax error: Unclosed array; close the list with "]"',
    ),
    (
        "text left open",
        VALID.replace('"{listener}, what did you hear?"', '"""{listener}, what did you hear?'),
        12,
        "TOML syntax error: Unterminated string; close the text with the same quotes",
    ),
    (
        "missing name",
        VALID.replace('name = "tiny"', ""),
        1,
        'name is missing; add name = "..."',
    ),
    (
        "name that is not a slug",
        VALID.replace('"tiny"', '"Tiny Talk"'),
        1,
        'use lowercase letters, digits and hyphens, like name = "tiny-talk"',
    ),
    (
        "step without kind",
        VALID.replace('kind = "confirm"\n', ""),
        14,
        'this [[round]] step has no kind; add kind = "..." with one of say, floor',
    ),
    (
        "no steps",
        VALID.split("[[round]]", maxsplit=1)[0],
        5,
        "the script has no steps; add [[opening]]",
    ),
    (
        "unknown prompt",
        VALID + '\n[prompts]\ncue = "{holder}, {remaining} left."\novertim = "Time."\n',
        20,
        "unknown key overtim in [prompts]; did you mean overtime?",
    ),
    (
        "cues as one string",
        VALID.replace('cues = ["1m", "30s"]', 'cues = "1m"'),
        4,
        'cues must be a list, not "1m"; write cues = ["1m", "30s"]',
    ),
    (
        "zero limit",
        VALID.replace('limit = "2m"', 'limit = "0s"'),
        3,
        'limit "0s" is no time at all',
    ),
    (
        "remaining in a floor step",
        VALID.replace("you have the floor.", "{remaining} to go."),
        8,
        "{remaining} has no value in a floor step, so it would be spoken as nothing; "
        "{remaining} is filled in only in the cue prompt; here you can use {handover}, "
        "{holder}, {limit}",
    ),
    (
        "limit in a say step",
        VALID + '\n[[closing]]\nkind = "say"\ntext = "We had {limit}."\n',
        20,
        "{limit} has no value in a say step, so it would be spoken as nothing",
    ),
    (
        "remaining in the confirmed prompt",
        VALID + '\n[prompts]\nconfirmed = "Thanks, {remaining}."\n',
        19,
        "{remaining} has no value in the confirmed prompt",
    ),
    (
        "question without a bank",
        VALID.replace("you have the floor.", "{question}"),
        8,
        "{question} is used but the script has no questions; "
        'add questions = ["What ...?", "How ...?"] at the top',
    ),
    (
        "a bank nobody asks",
        VALID.replace('cues = ["1m", "30s"]', 'cues = ["1m", "30s"]\nquestions = ["What now?"]'),
        5,
        "there are questions but no step asks them; put {question} in a floor step",
    ),
    (
        "misspelt placeholder in a question",
        VALID.replace(
            'cues = ["1m", "30s"]',
            'cues = ["1m", "30s"]\nquestions = [\n  "What now?",\n  "What about {partnr}?",\n]',
        ).replace("you have the floor.", "{question}"),
        7,
        "unknown placeholder {partnr}; did you mean {partner_a}?",
    ),
    (
        "a question listed twice",
        VALID.replace(
            'cues = ["1m", "30s"]', 'cues = ["1m", "30s"]\nquestions = ["What now?", "What now?"]'
        ).replace("you have the floor.", "{question}"),
        5,
        '"What now?" is listed twice; keep one',
    ),
    (
        "an empty bank",
        VALID.replace('cues = ["1m", "30s"]', 'cues = ["1m", "30s"]\nquestions = []'),
        5,
        "questions must be a list of questions, not an empty list",
    ),
    (
        "unknown sound",
        VALID + '\n[sounds]\ncue = "ding"\n',
        19,
        'unknown sound "ding" for cue; the sounds are bell, bowl, fall, rise or wood, '
        'or "none" for no sound',
    ),
    (
        "misspelt sound",
        VALID + '\n[sounds]\novertime = "bowel"\n',
        19,
        'unknown sound "bowel" for overtime; did you mean "bowl"?',
    ),
    (
        "misspelt sound event",
        VALID + '\n[sounds]\nfloor_ends = "bell"\n',
        19,
        "unknown key floor_ends in [sounds]; did you mean floor_end?",
    ),
    (
        "silent in quotes",
        VALID + '\n[sounds]\nsilent = "yes"\n',
        19,
        'silent must be true or false, not "yes"; write silent = true',
    ),
    (
        "a break too short to calm down",
        VALID.replace('limit = "2m"', 'break = "5m"'),
        3,
        "a break of 5m is too short to calm down; a real time-out lasts at least 20m; "
        'write break = "20m" or more',
    ),
    (
        "a break that is not a duration",
        VALID.replace('limit = "2m"', 'break = "a while"'),
        3,
        'break "a while" is not a duration',
    ),
    (
        "hand-over as one phrase",
        VALID.replace('limit = "2m"', 'handover = "i\'m done"'),
        3,
        'handover must be a list, not "i\'m done"; write handover = ["i\'m done", "over to you"]',
    ),
    (
        "a long hand-over phrase",
        VALID.replace('limit = "2m"', 'handover = ["that is all I wanted to say"]'),
        3,
        'the hand-over phrase "that is all I wanted to say" is long',
    ),
    (
        "a step's own line named as one the coach may stop",
        VALID.replace('limit = "2m"', 'stop_when_talked_over = ["cue", "say"]'),
        3,
        '"say" is not a prompt that may stop when talked over; the coach\'s reminders that '
        'may stop are "check-in", "cue", "more-time", "overtime", "piece-end" or "repeat"; '
        "a step's own lines are always said to the end",
    ),
    (
        "a misspelt reminder the coach may stop",
        VALID.replace('limit = "2m"', 'stop_when_talked_over = ["checkin"]'),
        3,
        '"checkin" is not a prompt that may stop when talked over; did you mean "check-in"?',
    ),
    (
        "the reminders the coach may stop as one word",
        VALID.replace('limit = "2m"', 'stop_when_talked_over = "cue"'),
        3,
        'stop_when_talked_over must be a list, not "cue"; write stop_when_talked_over = '
        '["cue", "check-in"], or [] to say every prompt to the end',
    ),
    (
        "a reminder the coach may stop, listed twice",
        VALID.replace('limit = "2m"', 'stop_when_talked_over = ["cue", "Cue"]'),
        3,
        '"Cue" is listed twice; keep one',
    ),
    (
        "a floor prompt that is a speech",
        VALID.replace("you have the floor.", "you have the floor. " + "We talk and listen. " * 12),
        8,
        "this floor prompt takes about 26s to say, more than 25s",
    ),
    (
        "one endless sentence in a say step",
        VALID + '\n[[closing]]\nkind = "say"\ntext = "' + "and we listen " * 30 + '."\n',
        20,
        "this sentence takes about 28s to say; break it into shorter sentences",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "phrase"),
    [pytest.param(content, line, phrase, id=case) for case, content, line, phrase in BROKEN],
)
def test_broken_script_names_line_and_fix(
    tmp_path: Path, content: bytes | str | None, line: int | None, phrase: str
) -> None:
    path = tmp_path / "script.toml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)

    with pytest.raises(ScriptError) as caught:
        load_exercise_file(path)

    message = str(caught.value)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert message.startswith(where), message
    assert phrase in message, message
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, Exception) == (line is None or "UTF-8" in phrase)


def test_every_problem_is_collected_in_file_order(tmp_path: Path) -> None:
    text = (
        VALID.replace('limit = "2m"', 'limit = "two minutes"')
        .replace('kind = "floor"', 'kind = "flor"')
        .replace("{listener}, what", "{partnr}, what")
    )

    exercise, problems = check_exercise_text(text, "script.toml")

    assert exercise is None
    assert [p.line for p in problems] == [3, 7, 12]
    with pytest.raises(ScriptError) as caught:
        load_exercise_file(write(tmp_path, text))
    path = tmp_path / "script.toml"
    assert str(caught.value).endswith(
        f"(and 2 more problems; run: attune-voice exercises check {path})"
    )


def test_one_more_problem_is_singular(tmp_path: Path) -> None:
    text = VALID.replace('limit = "2m"', "rounds = 0").replace('kind = "floor"', 'kind = "x"')

    with pytest.raises(ScriptError, match=r"\(and 1 more problem; run: "):
        load_exercise_file(write(tmp_path, text))


def test_problem_reads_as_line_message_suggestion() -> None:
    assert str(Problem(3, "rounds is 0", "write rounds = 1 or more")) == (
        "3: rounds is 0; write rounds = 1 or more"
    )
    assert str(Problem(0, "the script has no steps", "add steps")) == (
        "the script has no steps; add steps"
    )
    assert Problem(3, "rounds is 0", "write 1").at("a.toml") == "a.toml:3: rounds is 0; write 1"
    assert Problem(0, "no steps", "add steps").at("a.toml") == "a.toml: no steps; add steps"


def test_a_folder_is_not_a_script(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="is a folder"):
        load_exercise_file(tmp_path)


def test_byte_order_mark_and_windows_line_ends_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "script.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.replace("\n", "\r\n").encode("utf-8"))

    assert [s.line for s in load_exercise_file(path).round] == [6, 10, 14]


def test_windows_line_ends_keep_problem_lines(tmp_path: Path) -> None:
    text = VALID.replace('kind = "floor"', 'kind = "flor"').replace("\n", "\r\n")

    _, problems = check_exercise_text(text, "x")

    assert [p.line for p in problems] == [7]


def test_inline_steps_point_at_their_key(tmp_path: Path) -> None:
    text = 'name = "x"\nskill = "y"\nround = [\n  { kind = "floor" },\n]\n'

    _, problems = check_exercise_text(text, "x")

    assert [(p.line, p.message) for p in problems] == [(3, "text is missing")]


def test_literal_braces_and_every_placeholder_are_accepted_where_it_has_a_value() -> None:
    in_floor = "{speaker} {listener} {partner_a} {partner_b} {holder} {limit} {question}"
    text = (
        VALID.replace("you have the floor.", f"{{{{not a placeholder}}}} {in_floor}")
        .replace('cues = ["1m", "30s"]', 'cues = ["1m", "30s"]\nquestions = ["What now?"]')
        .replace('kind = "floor"', 'kind = "floor"\n', 1)
        + '\n[prompts]\ncue = "{holder}, {remaining} left of {limit}."\n'
        + 'confirmed = "{speaker} {listener} {partner_a} {partner_b}"\n'
        + 'check_in = "{holder}, when you are done, {handover}."\n'
    )

    exercise, problems = check_exercise_text(text, "x")

    assert problems == []
    assert exercise is not None
    assert {
        "speaker",
        "listener",
        "partner_a",
        "partner_b",
        "holder",
        "limit",
        "remaining",
        "question",
        "handover",
    } == PLACEHOLDERS


def test_script_settings_and_prompts_override_the_defaults() -> None:
    text = (
        VALID.replace('limit = "2m"', 'limit = 90\nparaphrase_limit = "1m30s"\nmax_attempts = 3')
        + '\n[prompts]\ncue = "{remaining} left, {holder}."\n'
    )

    exercise, problems = check_exercise_text(text, "x")

    assert problems == []
    assert exercise is not None
    assert (exercise.limit_s, exercise.paraphrase_limit_s, exercise.max_attempts) == (90, 90, 3)
    assert exercise.prompts.cue == "{remaining} left, {holder}."
    assert exercise.prompts.retry == "{listener}, try once more. What did you hear?"


def test_lines_inside_multiline_strings_are_not_taken_for_keys() -> None:
    text = VALID.replace(
        'text = "{listener}, what did you hear?"',
        "text = '''\nkind = \"nonsense\"\n[[closing]]\n{listenr}'''",
    )

    _, problems = check_exercise_text(text, "x")

    assert [(p.line, p.message) for p in problems] == [(15, "unknown placeholder {listenr}")]


def test_a_misspelt_key_is_one_problem_not_two() -> None:
    text = VALID.replace('skill = "empathy"', 'skil = "empathy"').replace(
        'text = "{listener}, what did you hear?"', 'txet = "{listener}, what did you hear?"'
    )

    _, problems = check_exercise_text(text, "x")

    assert [str(p) for p in problems] == [
        "2: unknown key skil; did you mean skill?",
        "12: unknown key txet in a [[round]] step; did you mean text?",
    ]


# --- long prompts, questions, sounds, hand-over and overrides ---------------------------------


def test_a_long_say_text_is_split_at_sentence_ends_into_prompts_of_under_25s() -> None:
    sentences = [f"Sentence {n} has a few calm words, and a pause." for n in range(1, 13)]
    text = VALID + '\n[[closing]]\nkind = "say"\ntext = """\n' + "\n".join(sentences) + '"""\n'

    exercise, problems = check_exercise_text(text, "x")

    assert problems == []
    assert exercise is not None
    parts = [step.text for step in exercise.closing]
    assert len(parts) == 3
    assert " ".join(parts) == " ".join(sentences)
    assert all(estimate_speech_s(part) <= MAX_PROMPT_S for part in parts)
    assert {step.line for step in exercise.closing} == {18}
    assert all(part.startswith("Sentence") and part.endswith("pause.") for part in parts)


def test_the_estimate_counts_words_pauses_and_filled_placeholders() -> None:
    # 4 words, 1 comma, 1 sentence end; a name counts 1.5 words, a duration 5.
    assert estimate_speech_s("Hello there, my friend.") == pytest.approx(4 * 0.3 + 0.5 + 0.7)
    assert estimate_speech_s("{speaker} has {limit}.") == pytest.approx(7.5 * 0.3 + 0.7)
    assert estimate_speech_s("Go. {question}", "What now?") == pytest.approx(3 * 0.3 + 1.4)
    assert estimate_speech_s("{{not a placeholder}}") == pytest.approx(3 * 0.3)


BANK = ("Q1?", "Q2?", "Q3?", "Q4?", "Q5?", "Q6?")


def test_pick_question_never_repeats_until_the_bank_is_used_up() -> None:
    used: list[str] = []
    for _ in range(len(BANK)):
        used.append(pick_question(BANK, used))

    assert used[0] == "Q1?"
    assert sorted(used) == sorted(BANK)
    assert used != list(BANK)  # varied, not simply in order
    # The same history always gives the same next question.
    assert pick_question(BANK, used[:3]) == used[3]


def test_a_new_cycle_keeps_the_most_recent_half_for_last() -> None:
    used: list[str] = []
    for _ in range(4 * len(BANK)):
        used.append(pick_question(BANK, used))

    for cycle in range(4):
        assert sorted(used[cycle * 6 : cycle * 6 + 6]) == sorted(BANK)
    for end in range(6, len(used), 6):
        # A question asked in the last three of a cycle is not among the first three after.
        assert not set(used[end - 3 : end]) & set(used[end : end + 3])


def test_pick_question_ignores_questions_no_longer_in_the_bank() -> None:
    assert pick_question(BANK, ["Gone?"] * 5 + ["Q1?"]) != "Q1?"
    assert pick_questions(BANK, [], 3) == [
        pick_question(BANK, []),
        pick_question(BANK, [pick_question(BANK, [])]),
        pick_questions(BANK, [], 3)[2],
    ]
    with pytest.raises(ValueError, match="empty"):
        pick_question((), [])


def test_each_floor_asks_the_next_question_and_other_steps_repeat_it() -> None:
    text = (
        VALID.replace('cues = ["1m", "30s"]', f"questions = {list(BANK)!r}".replace("'", '"'))
        .replace("you have the floor.", "{question}")
        .replace("what did you hear?", "what did you hear about {question}")
        .replace("rounds = 1", "")
    )
    text = text.replace('limit = "2m"', 'limit = "2m"\nrounds = 2')

    exercise, problems = check_exercise_text(text, "x")

    assert problems == [], problems
    assert exercise is not None
    assert exercise.questions_needed() == 2
    asked = [step.text for _, step in exercise.unrolled()]
    first, second = pick_questions(BANK, [], 2)
    assert asked[0] == "{speaker}, " + first
    assert asked[1] == "{listener}, what did you hear about " + first
    assert asked[3] == "{speaker}, " + second
    assert exercise.settings()["questions"] == [first, second]

    chosen = exercise.with_questions(["Q6?", "Q5?"])
    assert [s.text for _, s in chosen.unrolled()][3] == "{speaker}, Q5?"
    assert chosen.settings()["questions"] == ["Q6?", "Q5?"]


def test_a_literal_brace_question_is_not_a_question() -> None:
    assert fill_question("{{question}} {question}", "Why?") == "{{question}} Why?"
    assert not says_question("{{question}}")


def test_sounds_handover_and_break_are_read_from_the_script() -> None:
    text = (
        VALID.replace(
            'limit = "2m"',
            'limit = "2m"\nhandover = ["Over To You", "Done"]\nbreak = "30m"',
        )
        + '\n[sounds]\ncue = "wood"\nfloor_end = "none"\n'
    )

    exercise, problems = check_exercise_text(text, "x")

    assert problems == []
    assert exercise is not None
    assert exercise.handover_phrases == ("over to you", "done")
    assert exercise.break_s == 1800.0
    assert exercise.sounds == Sounds(cue="wood", floor_end="none", overtime="bowl")
    assert [exercise.sounds.chime_for(e) for e in ("cue", "floor_end", "overtime")] == [
        "wood",
        None,
        "bowl",
    ]
    quiet = exercise.with_overrides(None, None, silent=True)
    assert [quiet.sounds.chime_for(e) for e in ("cue", "floor_end", "overtime")] == [None] * 3
    with pytest.raises(ValueError, match="no sound event"):
        exercise.sounds.chime_for("start")


def test_a_script_narrows_the_reminders_a_partner_may_talk_over_and_stop() -> None:
    only_cues, problems = check_exercise_text(
        VALID.replace('limit = "2m"', 'stop_when_talked_over = ["cue", "Check_In"]'), "x"
    )
    assert problems == []
    assert only_cues is not None and only_cues.may_cut == {"cue", "check_in"}
    assert (
        "Talked over (with --hear-through): its check-in, cue prompts stop; the rest is said"
        " to the end"
    ) in describe(only_cues)

    said_whole, _ = check_exercise_text(
        VALID.replace('limit = "2m"', "stop_when_talked_over = []"), "x"
    )
    assert said_whole is not None and said_whole.may_cut == frozenset()
    assert "Talked over (with --hear-through): every prompt is said to the end" in describe(
        said_whole
    )


def test_the_defaults_when_a_script_says_nothing() -> None:
    exercise, _ = check_exercise_text(VALID, "x")

    assert exercise is not None
    assert exercise.handover_phrases == ("i'm done", "over to you", "that's all")
    assert exercise.break_s == 1200.0
    assert exercise.sounds == Sounds("bell", "fall", "bowl", silent=False)
    assert exercise.questions == ()
    assert exercise.may_cut == MAY_CUT
    no_spoken_handover, _ = check_exercise_text(VALID.replace('limit = "2m"', "handover = []"), "x")
    assert no_spoken_handover is not None and no_spoken_handover.handover_phrases == ()


def test_a_command_line_limit_caps_short_floors_and_leaves_the_rest() -> None:
    exercise = load_exercise("understanding")
    own = [s.limit_s for s in exercise.round if s.kind is StepKind.FLOOR]
    assert own == [30.0, None, 30.0, 90.0, 30.0, None, 30.0, 90.0]

    longer = exercise.with_overrides(limit_s=240.0, rounds=None)
    assert [longer.floor_limit_s(s) for s in longer.round if s.kind is StepKind.FLOOR] == [
        30.0,
        240.0,
        30.0,
        90.0,
    ] * 2
    shorter = exercise.with_overrides(limit_s=20.0, rounds=None)
    floors = [s for _, s in shorter.unrolled() if s.kind is StepKind.FLOOR]
    assert {shorter.floor_limit_s(s) for s in floors} == {20.0}
    assert shorter.paraphrase_limit_s == exercise.paraphrase_limit_s
