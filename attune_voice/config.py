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

    aggressiveness: int = 2
    """webrtcvad mode 0-3 for the detector's webrtcvad cue (``webrtcvad_cue``)."""
    merge_gap_s: float = 0.3
    """Pauses shorter than this inside speech are merged into one segment."""
    min_speech_s: float = 0.08
    """Voicing needed (within ``confirm_window_s``) before sound becomes speech: a click,
    a cough or a knock never becomes a segment."""
    energy_margin_db: float = 9.0
    """webrtcvad is asked about a sub-frame only where it stands this far above the
    noise floor (broadband and presence band)."""
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
    voiced_margin_db: float = 3.0
    """A periodic sub-frame counts as voiced only when its voice band stands this far
    above its noise floor."""
    periodicity_min: float = 0.7
    """Normalised autocorrelation at the pitch period from which a sub-frame is voiced."""
    confirm_window_s: float = 0.16
    """Speech is confirmed once ``min_speech_s`` of voicing falls within this long."""
    onset_lookback_s: float = 0.3
    """How far before its first voicing a segment may start (an unvoiced consonant)."""
    consonant_gap_s: float = 0.1
    """Sound this close to speech belongs to it (a consonant, the burst of a final stop);
    sound further away joins speech only when voicing follows."""
    resume_voiced_s: float = 0.03
    """After a pause, this much voicing resumes speech in the same segment."""
    noise_rise_db_per_s: float = 3.0
    """How fast a noise floor may rise: slow enough that speech never lifts it."""
    music_voice_margin_db: float = 12.0
    """Where music has been heard in the last few seconds (pitched sound holding its
    notes), a voice must stand this far above the noise floor to count."""
    webrtcvad_cue: bool = True
    """Also count webrtcvad's decisions (mode ``aggressiveness``, where the level stands
    ``energy_margin_db`` above the floor) as voicing."""


@dataclass(frozen=True)
class TurnConfig:
    """How the engine times the floor."""

    silence_checkin_s: float = 4.0
    """Silence after speech before a gentle spoken check-in."""
    checkin_wait_s: float = 4.0
    """Further silence after the check-in before the floor passes on."""
    overtime_pause_s: float = 1.0
    """After the time limit, a pause this long lets the speaker finish and hands over."""
    backchannel_max_s: float = 1.0
    """The listener's speech up to this long during the other's floor is a backchannel;
    longer is an interruption."""
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
    echo_db: float = -14.0
    """The prompts' echo in the microphones."""
    echo_delay_ms: float = 12.0
    noise_dbfs: float = -52.0
    """Background noise level (RMS): a quiet living room with a fan."""
    speech_dbfs: float = -22.0
    """The louder partner's speaking level at their own microphone (RMS)."""
    partner_b_offset_db: float = -4.0
    """Partner B sits a little further away."""


@dataclass(frozen=True)
class SessionOverrides:
    """What the command line may change about an exercise."""

    limit_s: float | None = None
    rounds: int | None = None
    partners: tuple[str, str] = ("Partner A", "Partner B")
