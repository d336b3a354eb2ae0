"""PREP's loop on the floor: a short piece, said back, confirmed, then "is there more?".

``PrepLoop`` is a part of ``SessionEngine`` (a base class): what follows a paraphrase's
confirmation and the speaker's answer to "is there more?". A floor step with a
``piece`` is given a piece at a time: each piece runs at most ``piece_s``, and all of
them together the floor's own limit (``Pieces``). A yes to "is there more?" goes back
to that floor step with the ``go_on`` prompt while at least ``MIN_PIECE_S`` of the
floor's time is left; a no, silence or no time left goes on to the next step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from attune_voice.events import Confirmation, Event, FloorRole, More, PromptMeaning
from attune_voice.exercises.model import Exercise, Step, StepKind, Who, cues_within
from attune_voice.session.floor import Floor, PendingFloor, paraphrase_index, partner_for
from attune_voice.session.phases import Phase

MIN_PIECE_S = 10.0
"""Less of the floor's time than this left: "is there more?" is not asked, since there
would be no time to say it."""


@dataclass
class Pieces:
    """The floor being said in pieces: which step gives it, and its time so far."""

    index: int
    """The floor step's index among the session's steps: "more" goes back to it."""
    partner: str
    limit_s: float
    """The whole floor's time, all pieces together."""
    piece_s: float
    used_s: float = 0.0
    """The time the pieces given so far held the floor."""

    @property
    def left_s(self) -> float:
        return max(0.0, self.limit_s - self.used_s)

    def next_limit_s(self) -> float:
        return min(self.piece_s, self.left_s)


class PrepLoop:
    """Confirmation, clarification and "is there more?", for ``SessionEngine``."""

    exercise: Exercise
    _log: Callable[[Event], None]
    _steps: list[tuple[int, Step]]
    _index: int
    _speaker: str
    _attempt: int
    _answer: str | None
    _pending: PendingFloor | None
    _after_prompt: Callable[[float], None] | None
    _pieces: Pieces | None

    def _enter(self, phase: Phase) -> None:
        raise NotImplementedError

    def _say(self, t: float, text: str, meaning: PromptMeaning, **extra: str) -> float:
        raise NotImplementedError

    def _next_step(self, t: float) -> None:
        raise NotImplementedError

    def _offer_floor(
        self,
        t: float,
        step: Step,
        role: FloorRole,
        attempt: int,
        text: str | None = None,
        *,
        limit_s: float | None = None,
        cues_s: tuple[float, ...] | None = None,
        pieced: bool = False,
        piece_only: bool = False,
    ) -> None:
        raise NotImplementedError

    # --- pieces -----------------------------------------------------------------------

    def _give_piece(
        self, t: float, step: Step, role: FloorRole = FloorRole.SPEAK, text: str | None = None
    ) -> None:
        """Offer the next piece of the floor step under way (the first opens its time)."""
        assert step.piece_s is not None
        pieces = self._pieces
        if pieces is None or pieces.index != self._index:
            pieces = Pieces(
                self._index,
                partner_for(step.who, self._speaker),
                self.exercise.floor_limit_s(step),
                step.piece_s,
            )
            self._pieces = pieces
        limit_s = pieces.next_limit_s()
        last = limit_s >= pieces.left_s
        # Time cues speak of the whole floor's time: only its last piece reaches them.
        cues_s = cues_within(self.exercise.step_cues_s(step), limit_s) if last else ()
        self._offer_floor(
            t,
            step,
            role,
            1,
            text,
            limit_s=limit_s,
            cues_s=cues_s,
            pieced=True,
            piece_only=not last,
        )

    def _piece_ended(self, floor: Floor, held_s: float) -> None:
        if floor.pieced and self._pieces is not None:
            self._pieces.used_s += held_s

    def _ask_more(self, t: float, step: Step) -> bool:
        """Ask "is there more?"; False when there is no floor time left to ask it for."""
        pieces = self._pieces
        if pieces is None:
            return False
        if pieces.left_s < MIN_PIECE_S:
            self._log(More(t, partner=pieces.partner, answer="no_time", left_s=pieces.left_s))
            self._pieces = None
            return False
        self._offer_floor(t, step, FloorRole.MORE, 1)
        return True

    def _more_answered(self, t: float, floor: Floor) -> None:
        answer = self._answer or "unheard"
        self._answer = None
        pieces = self._pieces
        left_s = pieces.left_s if pieces is not None else 0.0
        self._log(More(t, partner=floor.partner, answer=answer, left_s=left_s))
        if answer == "yes" and pieces is not None and left_s >= MIN_PIECE_S:
            # Back to the floor step: once this piece ends, its paraphrase comes again.
            self._index = pieces.index
            step = self._steps[pieces.index][1]
            self._give_piece(t, step, FloorRole.CONTINUE, self.exercise.prompts.go_on)
            return
        self._pieces = None
        self._next_step(t)

    # --- answers ----------------------------------------------------------------------

    def _answered_yes(self, t: float) -> None:
        self._answer = "yes"

    def _answered_not_quite(self, t: float) -> None:
        self._answer = "not_quite"

    def _answered_no(self, t: float) -> None:
        self._answer = "no"

    # --- confirmation -----------------------------------------------------------------

    def _confirmed(self, t: float, floor: Floor) -> None:
        answer = self._answer or "unheard"
        self._answer = None
        self._log(Confirmation(t, partner=floor.partner, answer=answer, attempt=self._attempt))
        prompts = self.exercise.prompts
        if answer == "not_quite" and self._attempt < self.exercise.max_attempts:
            self._attempt += 1
            step = Step(StepKind.FLOOR, who=Who.SPEAKER)
            self._offer_floor(t, step, FloorRole.CLARIFY, self._attempt, text=prompts.clarify)
            return
        # After the last try the speaker's effort is acknowledged, not passed over.
        text = prompts.confirmed if answer == "yes" else prompts.unheard
        self._attempt = 1
        if text:
            self._say(t, text, PromptMeaning("confirmed"))
            self._pending = None
            self._enter(Phase.PROMPTING)
            self._after_prompt = None
        else:
            self._next_step(t)

    def _retry_paraphrase(self, t: float) -> None:
        confirm_index = self._index
        step = self._steps[paraphrase_index(self._steps, self._index)][1]
        # When this paraphrase floor ends, the next step is the confirm step again.
        self._index = confirm_index - 1
        self._offer_floor(
            t, step, FloorRole.PARAPHRASE, self._attempt, text=self.exercise.prompts.retry
        )
