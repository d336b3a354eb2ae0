"""Live enrolment: each partner's voice learnt during a session, and whose voice speech has.

With one microphone, each partner still speaks alone at known moments: their own floor
(the speaker's share, the listener's paraphrase, the answer to it) and their spoken
answer to a question asked by name (``ready``). The session's own log says when those
were, so the couple does nothing extra. This module keeps the last ``buffer_s`` of the
microphone, and when a speech segment ends it cuts the segment into pieces, embeds
every piece of ``min_piece_s`` or more with the speaker encoder (one batch per segment)
and, once both voices are known, labels each piece with the nearer voice and its margin:
its cosine to that voice print minus its cosine to the other. Neighbouring pieces with
the same voice make one part, and each part reaches the engine as a speech segment of
its own (``SpeechSegment.voice``); the engine decides whether the margin is clear
(``session/attribution.py``).

**Pieces.** The segmenter merges pauses shorter than 0.3 s, so a listener's "mm-hm" in
the speaker's pause is one segment with the speaker's sentence. Inside a segment, a
pause is ``pause_s`` or more of sub-frames less than ``island_margin_db`` above the
room's noise in the last ``buffer_s`` (``listening/islands.py``); the stretches between
pauses are islands, and an island longer than ``piece_s`` is cut into equal pieces about
that long, so that overlapping speech is judged where one voice leads.

**Two voices at once.** When the listener talks over the floor holder, each piece
still sounds nearer the louder voice, so overlapped speech is told by how it departs
from each voice heard alone. A voice's own enrolled pieces of ``over_min_s`` or more
give its usual cosine to its print and its usual margin (mean and deviation of each);
a piece's departure from a voice is how many deviations below usual both fall, added
(the two drop together when a second voice joins). A piece as long, in someone's
floor, that departs more than ``over_spread`` from the holder's voice and from the
listener's sounds like neither alone; when its cosine to the listener's print and its
level rise ``over_rise`` deviations (added) above what the holder's own pieces usually
show, both are talking (a holder who merely sounds unlike themself, laughing or far from
the microphone, sounds no more like the listener and is no louder); and a listener
whose voice is usually louder than the holder's must raise the piece's level above the
holder's usual by at least ``over_level_share`` of that lead (a second voice adds its
energy). It stays the holder's, and the listener gets a part of their own over it
(``VoiceLabel.over``), its margin the smaller excess, in the voice's deviations of
cosine; the engine credits it to the listener only when that is clear
(``session/attribution.py``). A piece next to one that leans to the listener is where
their own speech begins or ends, and one leaning to the listener by more than that
excess is theirs alone: both are labelled as usual.
Such pieces teach no enrolment. A mm-hm said over the holder's words changes a piece
too little for that: where the speaker segmentation network hears two voices at once
(``listening/at_once.py``), the listener gets a part over it too, and the pieces
there teach no enrolment. The floors come from the session's log, as the
enrolments do. The first floors are heard before the listener's voice is known: their
long pieces, enrolled as the holder's, are checked once both voices' usual is trusted
(each against its voice's usual taken without it), and those found leave the enrolment
and are handed back late with the listener's part over them.

**Enrolment.** When the engine logs the floor holder's own speech (a turn), its pieces
join the holder's enrolment, except those that already lean towards the other voice
(the listener's mm-hm or interruption in the holder's floor). An answer by voice to a
by-name question joins the named partner's. Each enrolment keeps its latest
``enrol_max_s`` of speech, so it follows the session; the voice prints use the same
length of each (the shorter one's), so neither partner's voice is known better, and
nothing is labelled until both have ``enrol_min_s``. Until then nothing is trimmed: when
both become known, the pieces enrolled so far that lean to the other voice (the
listener's reactions in the first floor, taken for the speaker's turn) leave that
enrolment and are handed back once as late parts (``late_parts``), told against the
voices learnt without them. The speech they were in has been logged already, so each
comes as heard over it (``VoiceLabel.over``): the engine logs it only when it is clearly
the other voice, and never a second time as the holder's.

**Before the session.** The consent question is asked by name before the session's
clock starts; an answer by voice teaches the one asked (``session/consent_question.py``),
and ``start_session`` then keeps what was learnt, before time zero, and drops the rest.

A voice print is biometric data: it lives in this object's memory for one session and
is never written to disk, exported or logged; ``forget`` drops it and the audio.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Frame
from attune_voice.config import SAMPLE_RATE_HZ, TurnConfig
from attune_voice.events import (
    HOLDER_LEAD_S,
    PARTNERS,
    Event,
    FloorEnded,
    FloorGiven,
    Prompt,
    Readiness,
    Speech,
    SpeechKind,
)
from attune_voice.listening.at_once import AtOnce, AtOnceStretch, HeardAtOnce
from attune_voice.listening.islands import (
    ISLAND_MARGIN_DB,
    ISLAND_PAUSE_S,
    cut_at,
    islands,
    noise_db,
)
from attune_voice.listening.speaker_encoder import EMBEDDING_SIZE
from attune_voice.listening.subframes import SUBFRAME_S, SUBFRAME_SAMPLES, subframe_dbfs
from attune_voice.listening.voice_parts import JOIN_GAP_S, VoicePart, absorbing
from attune_voice.session.ports import VoiceLabel

Embeddings = npt.NDArray[np.float32]


class Embedder(Protocol):
    """What enrolment needs of ``speaker_encoder.SpeakerEncoder``."""

    def embed(self, clips: list[npt.NDArray[np.int16]], batch: int = 12) -> Embeddings: ...


@dataclass(frozen=True)
class EnrolmentConfig:
    """How speech is cut into pieces and how much of each voice is kept."""

    buffer_s: float = 60.0
    """Audio kept: a segment longer than this is judged on its last ``buffer_s``."""
    min_piece_s: float = 0.3
    """Shorter pieces are too short to judge: they go with the piece before them."""
    piece_s: float = 1.5
    """Islands longer than this are cut into pieces about this long (the encoder was
    trained on 1.6 s)."""
    pause_s: float = ISLAND_PAUSE_S
    """Quiet this long inside a segment separates two islands."""
    island_margin_db: float = ISLAND_MARGIN_DB
    """A sub-frame is sound when this far above the room's noise (``islands.noise_db``
    of the last ``buffer_s``)."""
    enrol_min_s: float = 4.0
    """Both voices need this much speech before anything is labelled."""
    enrol_max_s: float = 60.0
    """Each voice keeps its latest this much speech."""
    answer_wait_s: float = 1.0
    """Speech ending this soon after a spoken answer was understood is that answer."""
    over_min_s: float = 1.0
    """Pieces this long or longer are checked for two voices at once (shorter ones vary
    too much to tell a second voice from a voice's own variety)."""
    over_spread: float = 5.0
    """Departing from a voice by more than this many deviations (cosine and margin,
    added) is not that voice alone."""
    over_rise: float = 1.0
    """The listener's cosine must rise this many deviations above the holder's usual; the
    level's rise above the holder's usual, in its own deviations, counts towards it."""
    over_min_pieces: int = 8
    """A voice needs this many long pieces enrolled before its low is trusted."""
    over_level_share: float = 0.5
    """A listener usually louder than the holder, talking over them, raises the level
    by at least this share of their usual lead."""
    clear_margin: float = TurnConfig().clear_voice_margin
    """A part's voice counts as told where its margin is this or more: two voices at once
    found by the network in it are that voice and the other's."""


@dataclass
class _Piece:
    start_t: float
    end_t: float
    """The stretch of the segment it stands for."""
    embedding: npt.NDArray[np.float32]
    duration_s: float
    """The speech it was embedded from."""
    over: bool = False
    """Two voices at once: it teaches no enrolment."""
    level_db: float = float("nan")
    """Its loudness: the power mean of its sub-frames, in dBFS."""

    @property
    def mid_t(self) -> float:
        return (self.start_t + self.end_t) / 2


class VoiceEnrolment:
    """The two partners' voices, learnt from the session's log, and the voice of speech."""

    _FLOORS_KEPT = 8
    """Floors remembered: speech is judged soon after it ends."""
    _LEANING_KEPT = 256

    def __init__(
        self,
        encoder: Embedder,
        config: EnrolmentConfig | None = None,
        at_once: AtOnce | None = None,
    ) -> None:
        self.config = config or EnrolmentConfig()
        self._encoder = encoder
        self._at_once = at_once
        """The segmentation network, which hears two voices at once; None: the pieces'
        departure from each voice alone tells."""
        self._samples = int(self.config.buffer_s * SAMPLE_RATE_HZ)
        self._audio = np.zeros(self._samples, dtype=np.int16)
        self._levels = np.full(self._samples // SUBFRAME_SAMPLES, -120.0, dtype=np.float32)
        self._end_sample = 0
        self._pieces: deque[_Piece] = deque()
        """Pieces embedded lately, waiting for the log to say whose they were."""
        self._enrolled: dict[str, deque[_Piece]] = {p: deque() for p in PARTNERS}
        self._prints: npt.NDArray[np.float32] | None = None
        self._usual: npt.NDArray[np.float64] | None = None
        """Per voice: mean and deviation of its pieces' cosine, of their margin and of
        their cosine to the other's print (NaN until trusted); with the prints."""
        self._floors: list[tuple[str, float, float]] = []
        """[partner, start_t, end_t] of the floors logged (end inf while open)."""
        self._ready_end_t = 0.0
        self._answers: list[tuple[str, float]] = []
        """(partner, until_t) of answers by voice to a by-name question."""
        self.pieces_embedded = 0
        self._known = False
        """Both voices have been known: late parts are handed back only the first time."""
        self._late: list[VoicePart] = []
        self._unchecked: list[tuple[int, _Piece]] = []
        """(voice, piece) of long pieces enrolled before both voices' usual was trusted:
        checked for two voices at once when it is."""
        self._leaning: deque[tuple[float, float]] = deque(maxlen=self._LEANING_KEPT)
        """(start_t, end_t) of the latest pieces of a floor that leaned to the listener."""

    # --- the microphone -------------------------------------------------------------------

    def hear(self, frame: Frame) -> None:
        """Keep a frame of the microphone (every frame, in order)."""
        pcm = frame.pcm if frame.pcm.ndim == 1 else frame.pcm[0]
        start = frame.start_sample % self._samples
        end = start + len(pcm)
        if end <= self._samples:
            self._audio[start:end] = pcm
        else:
            split = self._samples - start
            self._audio[start:] = pcm[:split]
            self._audio[: end - self._samples] = pcm[split:]
        levels = subframe_dbfs(pcm)
        first = frame.start_sample // SUBFRAME_SAMPLES
        at = np.arange(first, first + len(levels)) % len(self._levels)
        self._levels[at] = levels
        self._end_sample = frame.start_sample + len(pcm)

    def _clip(self, start_sample: int, end_sample: int) -> npt.NDArray[np.int16]:
        at = np.arange(start_sample, end_sample) % self._samples
        return self._audio[at]

    # --- labelling ------------------------------------------------------------------------

    def parts(self, start_t: float, end_t: float) -> list[VoicePart]:
        """One segment as parts of one voice each, in time order, covering it.

        The segment must lie within the audio heard lately; before both voices are
        enrolled it is one part with no voice (its pieces are still kept to learn from).
        """
        heard = self._heard_at_once(start_t, end_t)
        pieces = self._embedded(start_t, end_t, () if heard is None else heard.changes)
        at_once = [] if heard is None else self._at_once_over(heard, start_t, end_t, pieces)
        prints = self._voice_prints()
        if prints is None or not pieces:
            return [VoicePart(start_t, end_t, None), *self._over_at_once(at_once, [])]
        sims = np.stack([p.embedding for p in pieces]) @ prints.T
        runs: list[tuple[int, float, float, float, float]] = []
        """(voice, start_t, end_t, margin x seconds, seconds) of pieces of one voice."""
        overs: list[tuple[_Piece, VoiceLabel]] = []
        nearest = np.argmax(sims, axis=1).tolist()
        for k, (piece, row) in enumerate(zip(pieces, sims, strict=True)):
            voice = nearest[k]
            margin = float(row[voice] - row[1 - voice])
            over = self._over(piece, row)
            # Next to the listener's own voice, it is where their speech begins or
            # ends over the holder's: one utterance, told by the voice it leans to.
            beside = nearest[max(0, k - 1) : k] + nearest[k + 1 : k + 2]
            # Leaning to the listener by more than it departs from both: theirs alone.
            alone = over is not None and voice != over[0] and margin >= over[1]
            if over is not None and 1 - over[0] not in beside and not alone:
                voice, margin = over
                piece.over = True
                overs.append((piece, VoiceLabel(PARTNERS[1 - voice], margin, over=True)))
            if runs and runs[-1][0] == voice:
                _, first_t, _, weighted, seconds = runs[-1]
                runs[-1] = (
                    voice,
                    first_t,
                    piece.end_t,
                    weighted + margin * piece.duration_s,
                    seconds + piece.duration_s,
                )
            else:
                runs.append(
                    (voice, piece.start_t, piece.end_t, margin * piece.duration_s, piece.duration_s)
                )
        result = []
        for k, (voice, first_t, last_t, weighted, seconds) in enumerate(runs):
            part_start = start_t if k == 0 else first_t
            part_end = end_t if k == len(runs) - 1 else last_t
            label = VoiceLabel(PARTNERS[voice], round(weighted / seconds, 4))
            result.append(VoicePart(part_start, part_end, label))
        result += _joined(overs)
        return result + absorbing(self._over_at_once(at_once, result), result)

    def _heard_at_once(self, start_t: float, end_t: float) -> HeardAtOnce | None:
        """What the network hears in a floor's segment of ``over_min_s`` or more (None
        for other segments, or without the network)."""
        if self._at_once is None or end_t - start_t < self.config.over_min_s:
            return None
        if self._holder_at((start_t + end_t) / 2) is None:
            return None
        end = min(round(end_t * SAMPLE_RATE_HZ), self._end_sample)
        first = max(
            self._at_once.context_start(round(start_t * SAMPLE_RATE_HZ), end), end - self._samples
        )
        return self._at_once.heard(self._clip(first, end), first / SAMPLE_RATE_HZ)

    def _at_once_over(
        self, heard: HeardAtOnce, start_t: float, end_t: float, pieces: list[_Piece]
    ) -> list[AtOnceStretch]:
        """(start_t, end_t, probability) where the network heard two voices at once in
        the segment; the pieces there teach no enrolment."""
        assert self._at_once is not None  # heard by it
        found = self._at_once.within(heard.stretches, start_t, end_t)
        for piece in pieces:
            if any(a < piece.end_t and piece.start_t < b for a, b, _ in found):
                piece.over = True
        return found

    def _over_at_once(self, found: list[AtOnceStretch], parts: list[VoicePart]) -> list[VoicePart]:
        if self._at_once is None:
            return []
        told = [(p.start_t, p.end_t, p.voice) for p in parts]
        over = self._at_once.over(found, told, self._holder_at, self.config.clear_margin)
        return [VoicePart(a, b, label) for a, b, label in over]

    def _over(self, piece: _Piece, sims: npt.NDArray[np.float32]) -> tuple[int, float] | None:
        """(holder, how far below both lows) when the piece sounds like both voices at
        once in someone's floor; None otherwise."""
        usual = self._usual
        if usual is None or piece.duration_s < self.config.over_min_s:
            return None
        holder = self._holder_at(piece.mid_t)
        if holder is None:
            return None
        return self._both(piece, sims, PARTNERS.index(holder), usual)

    def _both(
        self,
        piece: _Piece,
        sims: npt.NDArray[np.float32],
        h: int,
        usual: npt.NDArray[np.float64],
    ) -> tuple[int, float] | None:
        """(h, how far below both lows) when the piece, in ``h``'s floor, sounds like
        both voices at once; None otherwise, and always with the network, which hears two
        voices at once itself: in a room that echoes, pieces of the holder alone departed
        from both voices as far as that (the departure is the fallback without it)."""
        if self._at_once is not None:
            return None
        mean_cross, sd_cross = usual[h, 4:6]
        # A second voice shows as the listener's cosine rising or the level rising, each
        # in the holder's own deviations: the two add up.
        louder = max(0.0, (piece.level_db - usual[h, 6]) / usual[h, 7])
        if not (sims[1 - h] - mean_cross) / sd_cross + louder >= self.config.over_rise:
            return None
        lead_db = usual[1 - h, 6] - usual[h, 6]
        if lead_db > 0 and piece.level_db - usual[h, 6] < self.config.over_level_share * lead_db:
            return None
        excess = []
        for v in (h, 1 - h):
            mean_cos, sd_cos, mean_margin, sd_margin = usual[v, :4]
            departs = (mean_cos - sims[v]) / sd_cos
            departs += (mean_margin - (sims[v] - sims[1 - v])) / sd_margin
            excess.append(sd_cos * (departs - self.config.over_spread))
        below = min(excess)
        if not below > 0:  # NaN too: a voice's usual not yet known
            return None
        return h, round(float(below), 4)

    def _holder_at(self, t: float) -> str | None:
        for partner, start_t, end_t in reversed(self._floors):
            if start_t - HOLDER_LEAD_S <= t < end_t:
                return partner
            if end_t <= t:
                break
        return None

    def _embedded(
        self, start_t: float, end_t: float, changes: Sequence[float] = ()
    ) -> list[_Piece]:
        """The segment's pieces long enough to judge, embedded in one batch; an island is
        cut where the network heard one speaker follow another (``changes``), as
        ``analyze`` cuts its short parts there."""
        config = self.config
        first = max(
            round(start_t / SUBFRAME_S),
            (self._end_sample - self._samples) // SUBFRAME_SAMPLES + 1,
        )
        last = min(round(end_t / SUBFRAME_S), self._end_sample // SUBFRAME_SAMPLES)
        min_piece = round(config.min_piece_s / SUBFRAME_S)
        if last - first < min_piece:
            return []
        heard = self._levels[: max(1, self._end_sample // SUBFRAME_SAMPLES)]
        levels = self._levels[np.arange(first, last) % len(self._levels)]
        found = cut_at(
            islands(levels, noise_db(heard), config.pause_s, config.island_margin_db),
            [round(t / SUBFRAME_S) - first for t in changes],
            min_piece,
        )
        spans: list[tuple[int, int]] = []
        covers: list[list[int]] = []
        """The time each piece stands for: with the short islands after it (or, for the
        first, before it)."""
        short_start: int | None = None
        piece = round(config.piece_s / SUBFRAME_S)
        for a, b in ((first + a, first + b) for a, b in found):
            if b - a < min_piece:
                if covers:
                    covers[-1][1] = b
                elif short_start is None:
                    short_start = a
                continue
            count = max(1, round((b - a) / piece))
            edges = np.linspace(a, b, count + 1).round().astype(int).tolist()
            spans.extend(itertools.pairwise(edges))
            covers.extend([x, y] for x, y in itertools.pairwise(edges))
        if not spans:
            return []
        if short_start is not None:
            covers[0][0] = short_start
        clips = [self._clip(a * SUBFRAME_SAMPLES, b * SUBFRAME_SAMPLES) for a, b in spans]
        embeddings = self._encoder.embed(clips)
        self.pieces_embedded += len(spans)
        pieces = [
            _Piece(
                a * SUBFRAME_S, b * SUBFRAME_S, e, (y - x) * SUBFRAME_S, level_db=self._level(x, y)
            )
            for (a, b), (x, y), e in zip(covers, spans, embeddings, strict=True)
        ]
        self._pieces.extend(pieces)
        while self._pieces and self._pieces[0].end_t < end_t - config.buffer_s:
            self._pieces.popleft()
        return pieces

    def _level(self, first: int, last: int) -> float:
        """The power mean of sub-frames [first, last), in dBFS."""
        levels = self._levels[np.arange(first, last) % len(self._levels)].astype(np.float64)
        return float(10 * np.log10(np.mean(10 ** (levels / 10))))

    # --- enrolment ------------------------------------------------------------------------

    def learn(self, event: Event) -> None:
        """Take in one event of the session's log, as it is logged."""
        if isinstance(event, FloorGiven):
            self._floors.append((event.partner, event.t, float("inf")))
            del self._floors[: -self._FLOORS_KEPT]
        elif isinstance(event, FloorEnded):
            for k, (partner, start_t, end_t) in enumerate(self._floors):
                if partner == event.partner and end_t == float("inf"):
                    self._floors[k] = (partner, start_t, event.t)
        elif isinstance(event, Prompt) and event.purpose == "ready":
            self._ready_end_t = event.end_t
        elif isinstance(event, Readiness) and event.by == "voice":
            self._answers.append((event.partner, event.t + self.config.answer_wait_s))
        elif (
            isinstance(event, Speech)
            and event.speech_kind is SpeechKind.TURN
            and event.partner in PARTNERS
        ):
            self._enrol(event.partner, event.t, event.end_t)
        elif isinstance(event, Speech):
            for partner, until_t in self._answers:
                if self._ready_end_t <= event.t and event.end_t <= until_t:
                    self._enrol(partner, event.t, event.end_t)
                    break
        self._answers = [a for a in self._answers if a[1] >= event.t]

    def _enrol(self, partner: str, start_t: float, end_t: float) -> None:
        prints = self._voice_prints()
        mine = PARTNERS.index(partner)
        kept: deque[_Piece] = deque()
        for piece in self._pieces:
            if not start_t <= piece.mid_t < end_t:
                kept.append(piece)
                continue
            if piece.over:
                continue
            if prints is not None:
                sims = prints @ piece.embedding
                if sims[1 - mine] > sims[mine]:
                    # The other voice leads here: their mm-hm or interruption.
                    self._leaning.append((piece.start_t, piece.end_t))
                    continue
            self._enrolled[partner].append(piece)
            if piece.duration_s >= self.config.over_min_s and not self._trusted():
                self._unchecked.append((mine, piece))
        self._pieces = kept
        if self._known:
            self._trim(partner)
        self._prints = None

    def _trim(self, partner: str) -> None:
        """Keep the partner's latest ``enrol_max_s``: until both voices are known, all is
        kept, so that what the listener said meanwhile can be told late."""
        enrolled = self._enrolled[partner]
        held_s = sum(p.duration_s for p in enrolled)
        while enrolled and held_s - enrolled[0].duration_s > self.config.enrol_max_s:
            held_s -= enrolled.popleft().duration_s

    def enrolled_s(self) -> tuple[float, float]:
        """Seconds of speech each partner's enrolment holds."""
        a, b = (sum(p.duration_s for p in self._enrolled[x]) for x in PARTNERS)
        return a, b

    def _voice_prints(self) -> npt.NDArray[np.float32] | None:
        """(2, 256): each voice from its latest pieces, the same length of speech each."""
        if self._prints is not None:
            return self._prints
        if min(self.enrolled_s()) < self.config.enrol_min_s:
            return None
        prints = self._averaged()
        # Pieces learnt before the other voice was known may be theirs (the listener's
        # mm-hm in the first floor): once both are known, those leaning the other way go,
        # and the first time, they are handed back as late parts of the other's voice.
        off: list[tuple[_Piece, int]] = []
        """(piece, whose voice it leans to) of those leaving an enrolment."""
        for mine, partner in enumerate(PARTNERS):
            enrolled = self._enrolled[partner]
            sims = np.stack([p.embedding for p in enrolled]) @ prints.T
            leaning = (sims[:, 1 - mine] > sims[:, mine]).tolist()
            marked = list(zip(enrolled, leaning, strict=True))
            self._leaning.extend((p.start_t, p.end_t) for p, o in marked if o)
            off += [(p, 1 - mine) for p, o in marked if o]
            self._enrolled[partner] = deque(p for p, o in marked if not o)
        if not self._known:
            self._known = True
            # Told against the voices without them: each was in the other's print, which
            # it pulled towards itself (a quiet mm-hm then falls under the clear margin).
            clean = self._averaged() if min(self.enrolled_s()) > 0 else prints
            late = []
            for piece, theirs in off:
                margin = float(
                    clean[theirs] @ piece.embedding - clean[1 - theirs] @ piece.embedding
                )
                if piece.start_t >= 0.0 and margin > 0:  # not from before the session
                    # Over the holder's turn, logged already: it adds only when clear.
                    late.append((piece, VoiceLabel(PARTNERS[theirs], margin, over=True)))
            self._late = _joined(sorted(late, key=lambda pl: pl[0].start_t))
            for partner in PARTNERS:
                self._trim(partner)
        if min(self.enrolled_s()) < self.config.enrol_min_s:
            return None
        self._prints = self._averaged()
        self._usual = self._own_usual(self._prints)
        if self._unchecked and self._trusted():
            self._check_unchecked(self._prints)
        return self._prints

    def _trusted(self) -> bool:
        """Both voices' usual is known (enough long pieces of each)."""
        return self._usual is not None and not np.isnan(self._usual[:, :6]).any()

    def _check_unchecked(self, prints: npt.NDArray[np.float32]) -> None:
        """Once both voices' usual is trusted, the long pieces enrolled before then (the
        first floors, while the listener was not yet known) are checked for two voices
        at once: those found leave the enrolment, and the listener's part over them is
        handed back late (``late_parts``)."""
        found: list[tuple[_Piece, VoiceLabel]] = []
        for mine, piece in self._unchecked:
            sims = prints @ piece.embedding
            # Judged against the rest: its own voice's usual taken without it.
            both = self._both(piece, sims, mine, self._own_usual(prints, without=piece))
            if both is None or any(
                a - JOIN_GAP_S < piece.end_t and piece.start_t < b + JOIN_GAP_S
                for a, b in self._leaning
            ):
                continue
            piece.over = True
            partner = PARTNERS[mine]
            self._enrolled[partner] = deque(p for p in self._enrolled[partner] if p is not piece)
            if piece.start_t >= 0.0:  # not from before the session
                found.append((piece, VoiceLabel(PARTNERS[1 - mine], both[1], over=True)))
        self._unchecked = []
        if found:
            self._late += _joined(sorted(found, key=lambda pl: pl[0].start_t))
            self._prints = self._averaged()
            self._usual = self._own_usual(self._prints)

    def _own_usual(
        self, prints: npt.NDArray[np.float32], without: _Piece | None = None
    ) -> npt.NDArray[np.float64]:
        """(2, 8): each voice's own long pieces' cosine, margin, cosine to the other's
        print and level (dBFS), mean and deviation of each; ``without`` that piece."""
        usual = np.full((len(PARTNERS), 8), np.nan)
        for mine, partner in enumerate(PARTNERS):
            long = [
                p
                for p in self._enrolled[partner]
                if p.duration_s >= self.config.over_min_s and p is not without
            ]
            if len(long) < self.config.over_min_pieces:
                continue
            sims = np.stack([p.embedding for p in long]) @ prints.T
            margins = sims[:, mine] - sims[:, 1 - mine]
            usual[mine] = (
                np.mean(sims[:, mine]),
                max(float(np.std(sims[:, mine])), 1e-3),
                np.mean(margins),
                max(float(np.std(margins)), 1e-3),
                np.mean(sims[:, 1 - mine]),
                max(float(np.std(sims[:, 1 - mine])), 1e-3),
                np.mean([p.level_db for p in long]),
                max(float(np.std([p.level_db for p in long])), 0.1),
            )
        return usual

    def _averaged(self) -> npt.NDArray[np.float32]:
        """Each voice's latest pieces averaged, as much speech of each as the other has."""
        budget_s = min(self.enrolled_s())
        rows = []
        for partner in PARTNERS:
            total = np.zeros(EMBEDDING_SIZE, dtype=np.float64)
            taken_s = 0.0
            for piece in reversed(self._enrolled[partner]):
                if taken_s >= budget_s:
                    break
                total += piece.embedding * piece.duration_s
                taken_s += piece.duration_s
            rows.append(total / max(float(np.linalg.norm(total)), 1e-12))
        return np.array(rows, dtype=np.float32)

    def late_parts(self) -> list[VoicePart]:
        """Parts heard before both voices were known, told once they are (each once)."""
        late, self._late = self._late, []
        return late

    def start_session(self, origin_sample: int) -> None:
        """The session's clock starts at ``origin_sample`` of the clock heard so far: the
        voices learnt stay (before time zero, never handed back late); the audio, the
        pieces waiting and the floors go."""
        origin_t = origin_sample / SAMPLE_RATE_HZ
        for enrolled in self._enrolled.values():
            for piece in enrolled:
                piece.start_t -= origin_t
                piece.end_t -= origin_t
        self._audio[:] = 0
        self._levels[:] = -120.0
        self._end_sample = 0
        self._pieces.clear()
        self._floors.clear()
        self._answers.clear()
        self._leaning.clear()
        self._ready_end_t = 0.0

    def forget(self) -> None:
        """Drop the voice prints, the pieces and the audio: the session is over."""
        self._audio[:] = 0
        self._levels[:] = -120.0
        self._pieces.clear()
        for enrolled in self._enrolled.values():
            enrolled.clear()
        self._prints = None
        self._usual = None
        self._unchecked = []
        self._leaning.clear()


def _joined(late: list[tuple[_Piece, VoiceLabel]]) -> list[VoicePart]:
    """Neighbouring pieces of one voice (under ``JOIN_GAP_S`` apart) as one part."""
    parts: list[VoicePart] = []
    seconds = 0.0
    for piece, label in late:
        last = parts[-1] if parts else None
        if (
            last is not None
            and last.voice is not None
            and last.voice.partner == label.partner
            and piece.start_t - last.end_t < JOIN_GAP_S
        ):
            weighted = last.voice.margin * seconds + label.margin * piece.duration_s
            seconds += piece.duration_s
            joined = VoiceLabel(label.partner, round(weighted / seconds, 4), label.over)
            parts[-1] = VoicePart(last.start_t, piece.end_t, joined)
        else:
            seconds = piece.duration_s
            parts.append(VoicePart(piece.start_t, piece.end_t, label))
    return parts
