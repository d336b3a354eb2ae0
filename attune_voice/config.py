"""Settings as frozen dataclasses, with the unit in every name."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_RATE_HZ = 16_000
"""The one internal sample rate: everything is resampled to it on the way in."""

FRAME_MS = 20
"""One engine step: 320 samples at 16 kHz."""

FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000


@dataclass(frozen=True)
class DetectorConfig:
    """Speech detection and segmentation."""

    speech_on_probability: float = 0.5
    """The voice model's probability from which a sub-frame is voiced (Silero's own
    threshold, not fitted to any recording here)."""
    speech_off_probability: float = 0.35
    """Once voiced, a sub-frame stays voiced until the probability falls below this
    (Silero's own ``threshold - 0.15``)."""
    cancelled_on_probability: float = 0.1
    cancelled_off_probability: float = 0.05
    """The same, on audio heard through the echo canceller while a prompt plays: AEC3
    muffles a voice over a loud echo (at -6 dB of echo, 46% of a line's sub-frames
    reached 0.5, 85% reached 0.08), while the echo it leaves stayed under 0.04."""
    merge_gap_s: float = 0.3
    """Pauses shorter than this inside speech are merged into one segment."""
    min_speech_s: float = 0.08
    """Voicing needed (within ``confirm_window_s``) before it becomes speech: a click,
    a cough or a knock that the model half hears never becomes a segment."""
    gate_tail_s: float = 0.25
    """After a prompt stops playing, the microphone stays gated this long (room echo)."""
    channel_margin_db: float = 9.0
    """With one microphone per partner: a channel is its partner's speech only when
    it is no more than this much quieter than the loudest channel (crosstalk is louder
    than this below the source)."""
    sound_margin_db: float = 4.0
    """A sub-frame holds sound when its presence band stands this far above its noise
    floor (or its voice band ``voice_sound_margin_db``); speech edges are where sound
    begins and ends."""
    voice_sound_margin_db: float = 7.0
    """The voice band is narrow, so its level in steady noise swings more from one
    10 ms sub-frame to the next: it needs a wider margin to count as sound."""
    confirm_window_s: float = 0.16
    """Speech is confirmed once ``min_speech_s`` of voicing falls within this long."""
    onset_lookback_s: float = 0.1
    """How far before its first voicing a segment may start: the model's 32 ms window
    that the voicing was about, and about two windows more for the model to be sure.
    Further back, sound is not known to be this speech (a noisy room's bumps)."""
    end_lookback_s: float = 0.3
    """How far before its voicing stops a segment may end: the model keeps hearing a
    voice for a little while after it stops; the end is where its sound stops."""
    consonant_gap_s: float = 0.1
    """Sound this close before the voicing belongs to it (within ``onset_lookback_s``)."""
    resume_voiced_s: float = 0.03
    """After a pause, this much voicing resumes speech in the same segment."""
    noise_rise_db_per_s: float = 3.0
    """How fast a noise floor may rise: slow enough that speech never lifts it."""


@dataclass(frozen=True)
class TurnConfig:
    """How the engine times the floor."""

    silence_checkin_s: float = 10.0
    """Quiet after speech before a gentle spoken check-in. A thinking pause in a tender
    conversation can run several seconds; it is not the end of a turn."""
    checkin_wait_s: float = 30.0
    """Further quiet after the check-in, unanswered, before the floor passes on while
    its time lasts: a generous while, since silence alone should not end a turn."""
    overtime_pause_s: float = 1.0
    """After the time limit, a pause this long lets the speaker finish and hands over."""
    backchannel_max_s: float = 1.0
    """The listener's speech up to this long during the other's floor is a backchannel;
    longer is an interruption."""
    clear_voice_margin: float = 0.05
    """With one microphone, speech goes by its voice only when its voice print is this
    much nearer one partner's (in cosine) than the other's; else to the floor holder."""
    max_floor_s: float = 1800.0
    """A floor never runs longer than this, whatever happens (a stuck microphone)."""


@dataclass(frozen=True)
class RoomConfig:
    """The simulated room of ``attune-voice demo``."""

    seed: int = 1
    microphones: int = 2
    """1: one microphone for the room; 2: one per partner (with crosstalk)."""
    crosstalk_db: float = -15.0
    """Each partner's voice as heard by the other partner's microphone."""
    living_room: bool = False
    """A room that echoes (RT60 0.35 s). With two microphones each voice reaches its
    own microphone with a tail 8 dB under it, and the other's (``crosstalk_db`` down,
    4 ms later) with as much tail as voice, as in a diffuse room; with one, each voice
    reaches it with as much tail as voice (about a metre from each). Off: dry."""
    echo_db: float = -14.0
    """The prompts' echo in the microphones."""
    echo_delay_ms: float = 120.0
    """From a sample leaving the speaker to its echo (the sound card's buffers and the air)."""
    speaker_cutoff_hz: float = 250.0
    """A small speaker plays little below this: the echo is high-passed."""
    noise_dbfs: float = -52.0
    """Background noise level (RMS): a quiet living room with a fan."""
    speech_dbfs: float = -22.0
    """The louder partner's speaking level at their own microphone (RMS)."""
    partner_b_offset_db: float = -4.0
    """Partner B sits a little further away."""
    talk_over_share: float = 0.5
    """How often the floor holder, checked in on, takes up their thought again while
    the coach is still speaking (their own randomness: the rest of the seed's session
    stays as it was)."""
    mm_hms_over_words: float = 0.0
    """How often the listener's mm-hm is said over the speaker's words rather than in a
    pause, as people often do (their own randomness: the rest of the seed's session
    stays as it was). The demo keeps them in pauses; the benchmarks and tests of one
    microphone set it."""
    microphone_b_db: float = 0.0
    """With two microphones, how much louder partner B's microphone hears alike sound
    than A's (negative: quieter), as two microphones of different makes or input
    settings do."""


@dataclass(frozen=True)
class SessionOverrides:
    """What the command line may change about an exercise."""

    limit_s: float | None = None
    rounds: int | None = None
    partners: tuple[str, str] = ("Partner A", "Partner B")
