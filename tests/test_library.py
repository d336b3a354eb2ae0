"""The exercise library: faithful, warm and short built-ins, whole simulated sessions of
each, your own exercises folder, fresh questions across sessions, and the commands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from pathlib import Path

import pytest
from cli_run import invoke, one_error_line

from attune_voice.config import SAMPLE_RATE_HZ, RoomConfig
from attune_voice.durations import spoken_duration
from attune_voice.events import (
    Confirmation,
    EndReason,
    Event,
    FloorGiven,
    FloorRole,
    More,
    Prompt,
    Readiness,
    SessionEnded,
)
from attune_voice.exercises.folders import builtin_names, builtin_text, custom_folder
from attune_voice.exercises.library import exercise_template, library, load_exercise
from attune_voice.exercises.loader import check_exercise_text
from attune_voice.exercises.model import Exercise, StepKind, Who
from attune_voice.exercises.timing import MAX_PROMPT_S, estimate_speech_s, estimated_duration_s
from attune_voice.listening.listener import Listener
from attune_voice.session.engine import SessionEngine
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.session.readiness import READY_TEXT
from attune_voice.session.wiring import with_fresh_questions
from attune_voice.simulated.demo import build_room
from attune_voice.store.database import Store
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

NAMES = ("Alexandra", "Christopher")
"""Long names: the prompts' worst case for length."""
SEEDS = (1, 2)
OTHER = {"A": "B", "B": "A"}
ATTUNE_SKILLS = (
    "awareness",
    "turning toward",
    "tolerance",
    "understanding",
    "non-defensive listening",
    "empathy",
)
BLAME = ("your fault", "you always", "you never", "winner", "score", "points")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


# --- what every built-in exercise is made of ----------------------------------------------


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_validates_under_its_file_name(name: str) -> None:
    exercise, problems = check_exercise_text(builtin_text(name), f"builtin:{name}")

    assert problems == []
    assert exercise is not None
    assert exercise.name == name
    assert exercise.title and exercise.skill
    assert exercise.goal.endswith(".") and exercise.goal.count(". ") == 0, "one sentence"


def test_each_attune_skill_has_its_own_exercise_and_the_conversations_are_there() -> None:
    for skill in ATTUNE_SKILLS:
        assert load_exercise(skill.replace(" ", "-")).skill == skill
    for name in ("speaker-listener", "speaker-listener-easy", "stress-reducing-conversation"):
        assert name in builtin_names()
    assert {"aftermath", "love-maps", "dreams-within-conflict"} <= set(builtin_names())
    counsellors_own = {
        "softened-start-up",
        "repair-attempts",
        "four-horsemen",
        "state-of-the-union",
    }
    assert counsellors_own <= set(builtin_names())
    assert all(load_exercise(name).skill in ATTUNE_SKILLS for name in builtin_names())


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_opens_with_a_readiness_check(name: str) -> None:
    first = load_exercise(name).opening[0]

    # Each partner is then asked by name and answers (see test_answers_and_way_out).
    assert first.kind is StepKind.READY
    assert "I will ask each of you" in first.text


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_closes_with_an_appreciation_from_each_partner(name: str) -> None:
    exercise = load_exercise(name)
    floors = [s for s in exercise.closing if s.kind is StepKind.FLOOR]

    assert [s.who for s in floors] == [Who.PARTNER_A, Who.PARTNER_B]
    # Worded differently in each exercise, so that the line is heard, not recited.
    assert floors[0].text.startswith("{partner_a}") and "{partner_b}" in floors[0].text
    assert floors[1].text.startswith("{partner_b}") and "{partner_a}" in floors[1].text
    assert all(exercise.floor_limit_s(s) == 30.0 for s in floors)
    assert exercise.closing[-1].kind is StepKind.SAY


@pytest.mark.parametrize("name", builtin_names())
def test_every_round_gives_both_partners_the_same_time_and_ends_where_it_began(
    name: str,
) -> None:
    exercise = load_exercise(name)
    speaker = "A"
    floor_s = {"A": 0.0, "B": 0.0}
    for step in exercise.round:
        if step.kind is StepKind.SWAP:
            speaker = OTHER[speaker]
        elif step.kind not in (StepKind.SAY, StepKind.MORE):
            # "Is there more?" is a yes or a no, and a yes gives more of the same floor.
            who = {Who.SPEAKER: speaker, Who.LISTENER: OTHER[speaker]}[step.who]
            floor_s[who] += exercise.floor_limit_s(step)

    assert floor_s["A"] == floor_s["B"] > 0
    # Round two starts with the same speaker as round one.
    assert speaker == "A"


@pytest.mark.parametrize("name", builtin_names())
def test_the_words_are_warm_and_speak_of_we(name: str) -> None:
    exercise = load_exercise(name)
    texts = [s.text for s in exercise.opening + exercise.round + exercise.closing]
    texts += list(astuple(exercise.prompts))
    spoken = " ".join(texts).lower()

    assert re.search(r"\b(we|us|our|let's)\b", " ".join(s.text for s in exercise.opening).lower())
    for phrase in BLAME:
        assert phrase not in spoken


@pytest.mark.parametrize("name", builtin_names())
def test_no_placeholder_would_be_spoken_literally(name: str) -> None:
    exercise = load_exercise(name)
    values = {
        "speaker": "Sam",
        "listener": "Alex",
        "partner_a": "Sam",
        "partner_b": "Alex",
        "holder": "Sam",
        "limit": "two minutes",
        "remaining": "thirty seconds",
        "handover": "say I'm done",
    }
    texts = [s.text for _, s in exercise.unrolled()] + list(astuple(exercise.prompts))
    for text in texts:
        spoken = text.format(**values)  # a KeyError would be a placeholder with no value
        assert not re.search(r"[{}_]", spoken), spoken


def test_the_love_map_questions_are_open_and_many() -> None:
    exercise = load_exercise("love-maps")
    bank = exercise.questions

    assert len(bank) >= 30
    assert len(set(bank)) == len(bank)
    for question in bank:
        assert re.match(r"(What|How|Who|Which|Where|When|Tell me) ", question), question
        assert question.endswith(("?", "."))
    # Each partner is asked a new question in every round.
    assert exercise.questions_needed() == 2 * exercise.rounds
    asked = [s.text for _, s in exercise.unrolled() if s.kind is StepKind.FLOOR][:-2]
    assert len({text for text in asked}) == len(asked)


# --- the prompts with the real voice --------------------------------------------------------


def test_every_builtin_engine_prompt_is_short_with_the_real_voice(
    renderer: SpeechRenderer,
) -> None:
    values = {
        "speaker": NAMES[0],
        "listener": NAMES[1],
        "partner_a": NAMES[0],
        "partner_b": NAMES[1],
        "holder": NAMES[0],
        "limit": "one minute and thirty seconds",
        "remaining": "one minute and thirty seconds",
        "handover": "press the button",
    }
    texts = {text for name in builtin_names() for text in astuple(load_exercise(name).prompts)}
    for text in sorted(texts):
        spoken = text.format(**values)
        seconds = len(renderer.render(spoken)) / SAMPLE_RATE_HZ
        assert seconds <= MAX_PROMPT_S, (seconds, spoken)
        assert estimate_speech_s(spoken) >= 0.9 * seconds, (seconds, spoken)


# --- whole sessions in the simulated room ---------------------------------------------------


@dataclass
class Played:
    exercise: Exercise
    events: list[Event]
    reason: EndReason


@pytest.fixture(scope="module")
def play(renderer: SpeechRenderer) -> Callable[[str, int], Played]:
    """Plays a built-in exercise in the simulated room, once per name and seed."""
    played: dict[tuple[str, int], Played] = {}

    def run(name: str, seed: int) -> Played:
        if (name, seed) not in played:
            # Short floors and one round keep a whole session to a few simulated minutes,
            # and one microphone halves the voice model's work: what is under test is the
            # script, which a second microphone does not change.
            exercise = load_exercise(name).with_overrides(limit_s=20.0, rounds=1)
            room = build_room(renderer, RoomConfig(seed=seed, microphones=1))
            log = EventLog()
            engine = SessionEngine(exercise, NAMES, PromptVoicePlayer(renderer, room), log)
            reason = SessionLoop(room, engine, Listener(room.channels)).run()
            played[(name, seed)] = Played(exercise, log.events, reason)
        return played[(name, seed)]

    return run


def expected_session(
    exercise: Exercise, events: list[Event]
) -> tuple[list[tuple[str, FloorRole]], list[str]]:
    """The floors (partner, role) and the step and floor prompts the script asks for, in
    order. Whether a paraphrase was confirmed is up to the partners, so their answers are
    read from the log; a "not quite" brings a clarification and another paraphrase."""
    answers = iter(e.answer for e in events if isinstance(e, Confirmation))
    names = {"A": NAMES[0], "B": NAMES[1]}
    speaker = "A"
    floors: list[tuple[str, FloorRole]] = []
    prompts: list[str] = []

    def say(text: str, holder: str, limit_s: float = 0.0) -> None:
        prompts.append(
            text.format(
                speaker=names[speaker],
                listener=names[OTHER[speaker]],
                partner_a=names["A"],
                partner_b=names["B"],
                holder=names[holder],
                limit=spoken_duration(limit_s),
                handover="press the button",  # no speech model in these sessions
            )
        )

    roles = {
        StepKind.FLOOR: FloorRole.SPEAK,
        StepKind.PARAPHRASE: FloorRole.PARAPHRASE,
        StepKind.CONFIRM: FloorRole.CONFIRM,
        StepKind.MORE: FloorRole.MORE,
    }
    # Whether there is more is up to the speaker, and whether there is time for it up to
    # how long the pieces ran: both are read from the log too.
    mores = iter(e.answer for e in events if isinstance(e, More))
    steps = exercise.unrolled()
    paraphrase_step = None
    pieced_at: int | None = None
    index = -1
    while index + 1 < len(steps):
        index += 1
        step = steps[index][1]
        if step.kind is StepKind.SWAP:
            speaker = OTHER[speaker]
            continue
        if step.kind is StepKind.SAY:
            say(step.text, speaker)
            continue
        if step.kind is StepKind.READY:
            # Both simulated partners say yes; the coach then says so (a closing line).
            say(step.text, speaker)
            prompts.append(READY_TEXT)
            continue
        partner = {
            Who.SPEAKER: speaker,
            Who.LISTENER: OTHER[speaker],
            Who.PARTNER_A: "A",
            Who.PARTNER_B: "B",
        }[step.who]
        if step.kind is StepKind.MORE:
            answer = next(mores)
            if answer == "no_time":
                continue
            say(step.text, partner, exercise.floor_limit_s(step))
            floors.append((partner, FloorRole.MORE))
            if answer == "yes":
                assert pieced_at is not None
                say(exercise.prompts.go_on, partner)
                floors.append((partner, FloorRole.CONTINUE))
                index = pieced_at
            continue
        if step.kind is StepKind.FLOOR and step.piece_s is not None:
            pieced_at = index
        say(step.text, partner, exercise.floor_limit_s(step))
        floors.append((partner, roles[step.kind]))
        if step.kind is StepKind.PARAPHRASE:
            paraphrase_step = step
        if step.kind is StepKind.CONFIRM:
            assert paraphrase_step is not None
            attempt = 1
            while next(answers) == "not_quite" and attempt < exercise.max_attempts:
                attempt += 1
                listener = OTHER[speaker]
                say(exercise.prompts.clarify, speaker, exercise.paraphrase_limit_s)
                floors.append((speaker, FloorRole.CLARIFY))
                say(exercise.prompts.retry, listener, exercise.floor_limit_s(paraphrase_step))
                floors.append((listener, FloorRole.PARAPHRASE))
                say(step.text, speaker, exercise.floor_limit_s(step))
                floors.append((speaker, FloorRole.CONFIRM))
    return floors, prompts


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_runs_to_completion_with_the_floors_and_prompts_it_scripts(
    play: Callable[[str, int], Played], name: str, seed: int
) -> None:
    played = play(name, seed)
    events = played.events

    assert played.reason is EndReason.COMPLETED
    assert isinstance(events[-1], SessionEnded)
    floors, prompts = expected_session(played.exercise, events)
    assert [(e.partner, e.role) for e in events if isinstance(e, FloorGiven)] == floors
    said = [e for e in events if isinstance(e, Prompt)]
    assert [e.text for e in said if e.purpose in ("step", "floor", "closing")] == prompts
    # It opens with the readiness check and closes with an appreciation from each partner.
    assert said[0].text.startswith("Before we begin")
    answers = [e for e in events if isinstance(e, Readiness)]
    first_floor = next(e for e in events if isinstance(e, FloorGiven))
    # Each ready step (the check-in, and a topic to choose where there is one) asks both.
    asked = sum(step.kind is StepKind.READY for _, step in played.exercise.unrolled())
    assert [a.partner for a in answers] == ["A", "B"] * asked
    assert all(a.answer == "yes" and a.t < first_floor.t for a in answers)
    assert floors[-2:] == [("A", FloorRole.SPEAK), ("B", FloorRole.SPEAK)]
    appreciations = [e.text for e in said if e.purpose == "floor"][-2:]
    assert [text.split(",")[0] for text in appreciations] == list(NAMES)


@pytest.mark.parametrize("name", builtin_names())
def test_two_seeds_play_differently_but_follow_the_same_script(
    play: Callable[[str, int], Played], name: str
) -> None:
    first, second = (play(name, seed) for seed in SEEDS)

    assert first.events != second.events
    # Whether a paraphrase lands first time (Y or N) is up to the partners, so only
    # the floors to speak are the script's own.
    floors = [
        [
            (e.partner, e.role)
            for e in p.events
            if isinstance(e, FloorGiven) and e.role is FloorRole.SPEAK
        ]
        for p in (first, second)
    ]
    assert floors[0] == floors[1]


@pytest.mark.parametrize("name", builtin_names())
def test_every_spoken_prompt_is_filled_in_and_short(
    play: Callable[[str, int], Played], name: str
) -> None:
    for seed in SEEDS:
        for prompt in (e for e in play(name, seed).events if isinstance(e, Prompt)):
            assert not re.search(r"[{}_]|no time|  | [,.?]", prompt.text), prompt.text
            seconds = prompt.end_t - prompt.t
            # Durations here are "twenty seconds"; "one minute and thirty seconds" is 1.5s longer.
            assert seconds <= MAX_PROMPT_S - 3.0, (seconds, prompt.text)
            # The loader's estimate, which splits long texts, errs long against the real voice.
            assert estimate_speech_s(prompt.text) >= 0.9 * seconds, (seconds, prompt.text)


# --- fresh questions in every session -------------------------------------------------------


def test_love_maps_asks_new_questions_every_session_until_the_bank_is_used_up() -> None:
    exercise = load_exercise("love-maps")
    per_session = exercise.questions_needed()
    sessions = len(exercise.questions) // per_session

    asked: list[str] = []
    for _ in range(sessions):
        # A new connection each time: the record is in the database, not in memory.
        with Store.open() as store:
            chosen = with_fresh_questions(exercise, store)
        questions = chosen.settings()["questions"]
        assert isinstance(questions, list) and len(questions) == per_session
        floors = [s.text for _, s in chosen.unrolled() if s.kind is StepKind.FLOOR]
        assert all(any(q in text for text in floors) for q in questions)
        asked.extend(questions)

    assert sorted(asked) == sorted(exercise.questions)
    with Store.open() as store:
        again = with_fresh_questions(exercise, store).settings()["questions"]
    assert isinstance(again, list)
    assert not set(again) & set(asked[-len(asked) // 2 :])


def test_an_exercise_without_a_bank_leaves_the_store_alone() -> None:
    exercise = load_exercise("speaker-listener")
    with Store.open() as store:
        assert with_fresh_questions(exercise, store) is exercise
        assert store.get_setting("questions_asked:speaker-listener") is None
        store.set_setting("questions_asked:love-maps", "not json")
        # A damaged record starts the questions over rather than failing the session.
        chosen = with_fresh_questions(load_exercise("love-maps"), store)
    assert chosen.asked[0] == load_exercise("love-maps").questions[0]


# --- your own exercises ---------------------------------------------------------------------

MINE = exercise_template("my-talk")


def test_the_folder_of_your_own_exercises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    assert custom_folder() == home / "exercises"
    monkeypatch.delenv("ATTUNE_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert custom_folder() == tmp_path / "config" / "attune-voice" / "exercises"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert custom_folder() == tmp_path / "me" / ".config" / "attune-voice" / "exercises"


def write_mine(name: str, text: str) -> Path:
    folder = custom_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_your_exercises_load_by_name_and_join_the_list() -> None:
    path = write_mine("my-talk", MINE)

    exercise = load_exercise("my-talk")

    assert exercise.source == str(path)
    assert exercise.title == "My talk"
    found, notes = library()
    assert [e.name for e in found] == [*builtin_names(), "my-talk"]
    assert notes == []


def test_a_built_in_name_always_means_the_built_in_exercise() -> None:
    path = write_mine("speaker-listener", MINE.replace('"my-talk"', '"speaker-listener"'))

    assert load_exercise("speaker-listener").source == "builtin:speaker-listener"
    found, notes = library()
    assert [e.name for e in found] == builtin_names()
    assert notes == [
        f"{path}: not used, because speaker-listener is a built-in exercise;"
        " give the file and its name another name"
    ]


def test_a_broken_or_misnamed_file_of_yours_is_named_and_the_rest_still_listed() -> None:
    write_mine("my-talk", MINE)
    broken = write_mine(
        "broken",
        MINE.replace('name = "my-talk"', 'name = "broken"').replace(
            'limit = "2m"', 'limit = "two minutes"'
        ),
    )
    other = write_mine("other", MINE)
    write_mine("My Talk", MINE)

    found, notes = library()

    assert [e.name for e in found][-1] == "my-talk"
    assert notes[0].startswith(
        f"{custom_folder() / 'My Talk.toml'}: not used; rename it to my-talk.toml"
    )
    assert notes[1].startswith(f'{broken}:11: limit "two minutes" is not a duration')
    assert notes[2] == (
        f'{other}:5: name "my-talk" is not the file\'s name, other; write name = "other",'
        " or rename the file to my-talk.toml"
    )


def test_an_unknown_name_lists_yours_too() -> None:
    write_mine("my-talk", MINE)

    with pytest.raises(Exception, match=r'no exercise called "my-tlak"; did you mean "my-talk"\?'):
        load_exercise("my-tlak")
    with pytest.raises(Exception, match=r"yours are my-talk; or give the path to a \.toml script"):
        load_exercise("nothing-like-it")


def test_the_template_is_a_valid_exercise_with_a_readiness_check_and_appreciation() -> None:
    exercise, problems = check_exercise_text(MINE, "my-talk.toml", file_name="my-talk")

    assert problems == []
    assert exercise is not None
    assert exercise.opening[0].kind is StepKind.READY
    assert "time out" in exercise.opening[1].text and "press T" in exercise.opening[1].text
    assert [s.who for s in exercise.closing if s.kind is StepKind.FLOOR] == [
        Who.PARTNER_A,
        Who.PARTNER_B,
    ]
    # Every key a script may have is in the template, set or commented out.
    for key in ("handover", "break", "questions", "[sounds]", "floor_end", "silent"):
        assert key in MINE


# --- the commands ---------------------------------------------------------------------------


def test_exercises_lists_name_skill_length_and_goal() -> None:
    result = invoke("exercises")

    assert result.exit_code == 0
    rows = result.stdout.splitlines()
    for name in builtin_names():
        exercise = load_exercise(name)
        minutes = round(estimated_duration_s(exercise) / 60)
        line = next(row for row in rows if row.startswith(name + " "))
        assert re.search(rf"{exercise.skill} +{minutes} min  {re.escape(exercise.goal)}$", line)
    assert f"Your own exercises go in {custom_folder()}" in result.stdout


def test_exercises_json_has_every_field_and_marks_yours() -> None:
    write_mine("my-talk", MINE)

    rows = json.loads(invoke("exercises", "--format", "json").stdout)

    assert [row["name"] for row in rows] == [*builtin_names(), "my-talk"]
    assert set(rows[0]) == {
        "name",
        "title",
        "skill",
        "goal",
        "duration_s",
        "rounds",
        "limit_s",
        "source",
    }
    love = next(row for row in rows if row["name"] == "love-maps")
    assert love["duration_s"] == round(estimated_duration_s(load_exercise("love-maps")))
    assert (love["skill"], love["rounds"], love["limit_s"], love["source"]) == (
        "understanding",
        2,
        120.0,
        "built-in",
    )
    assert rows[-1]["source"] == str(custom_folder() / "my-talk.toml")


def test_show_prints_the_whole_script_with_overrides() -> None:
    shown = invoke("exercises", "show", "love-maps", "--limit", "3m", "--rounds", "1")

    assert shown.exit_code == 0
    assert "Timings: 1 round; floor 3m" in shown.stdout
    assert "{question}" in shown.stdout
    assert "  - What was the best part of your day?" in shown.stdout
    assert invoke("exercises", "show", "aftermath", "--format", "toml").stdout == builtin_text(
        "aftermath"
    )
    data = json.loads(invoke("exercises", "show", "awareness", "--format", "json").stdout)
    assert data["name"] == "awareness" and data["sounds"]["cue"] == "bell"
    assert len(data["steps"]) == len(load_exercise("awareness").unrolled())
    assert data["steps"][0]["kind"] == "ready" and data["steps"][0]["round"] == 0
    # The prompts a partner may talk over and stop: a set, shown as a sorted list.
    assert data["may_cut"] == sorted(load_exercise("awareness").may_cut)


def test_new_writes_a_template_that_checks_and_runs_by_name() -> None:
    result = invoke("exercises", "new", "my-talk")

    assert result.exit_code == 0
    path = custom_folder() / "my-talk.toml"
    assert path.read_text(encoding="utf-8") == MINE
    assert "exercises check my-talk" in result.stdout
    checked = invoke("exercises", "check", "my-talk")
    assert checked.exit_code == 0
    assert checked.stdout.startswith(f"{path}: ok — My talk, 18 steps, about ")
    again = invoke("exercises", "new", "my-talk")
    assert again.exit_code == 2
    assert (
        one_error_line(again)
        == f"attune-voice: {path} already exists; edit it, or choose another name"
    )


def test_new_from_an_exercise_copies_and_renames_it() -> None:
    result = invoke("exercises", "new", "our-maps", "--from", "love-maps")

    assert result.exit_code == 0
    copied = load_exercise("our-maps")
    original = load_exercise("love-maps")
    assert copied.name == "our-maps"
    assert copied.questions == original.questions
    # The same steps, a few lines further down the file under the note about the copy.
    assert [replace(s, line=0) for s in copied.round] == [
        replace(s, line=0) for s in original.round
    ]


def test_new_refuses_built_in_and_unusable_names_and_can_print() -> None:
    clash = invoke("exercises", "new", "empathy")
    assert clash.exit_code == 2
    assert "attune-voice exercises new my-empathy --from empathy" in one_error_line(clash)
    bad = invoke("exercises", "new", "My Talk")
    assert bad.exit_code == 2
    assert "use lowercase letters, digits and hyphens" in one_error_line(bad)
    printed = invoke("exercises", "new", "quiet-time", "--output", "-")
    assert printed.stdout == exercise_template("quiet-time")
    assert not custom_folder().exists()


def test_check_reports_every_problem_of_every_script(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(MINE, encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(
        MINE.replace('limit = "2m"', 'limit = "two minutes"').replace(
            '"Now you, {speaker}.', '"Now you, {partnr}.'
        ),
        encoding="utf-8",
    )

    result = invoke("exercises", "check", str(good), str(broken), "tolerance")

    assert result.exit_code == 2
    assert f"{good}: ok — My talk" in result.stdout
    assert "builtin:tolerance: ok — Two views, both respected" in result.stdout
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(broken))]
    assert [line.split(":")[1] for line in problems] == ["11", "89"]
    assert "unknown placeholder {partnr}; did you mean {partner_a}?" in problems[1]
    assert result.stderr.splitlines()[-1] == "attune-voice: 2 problems found in 1 script"


def test_check_a_missing_file_is_one_line() -> None:
    result = invoke("exercises", "check", "missing.toml")

    assert result.exit_code == 2
    assert one_error_line(result) == "attune-voice: missing.toml: no such exercise script"


def test_the_docs_list_every_built_in_exercise_with_its_skill_and_length() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "exercises.md"
    rows = re.findall(r"^\| `([a-z-]+)` \| ([a-z -]+) \| (\d+) min \|", docs.read_text(), re.M)

    assert sorted(name for name, _, _ in rows) == builtin_names()
    for name, skill, minutes in rows:
        exercise = load_exercise(name)
        assert skill == exercise.skill
        assert int(minutes) == round(estimated_duration_s(exercise) / 60), name
