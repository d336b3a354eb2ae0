"""Two microphones of unlike gain: the balance taken off each channel's lead before a
window teaches a voice or is heard from afar (``CrosstalkConfig.balance_db``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from attune_voice.listening.crosstalk import CrosstalkConfig, _own_edges_trimmed

Floats = npt.NDArray[np.float64]


def _partners(balance_db: float, a_windows: int, b_windows: int, near_db: float = 7.0) -> Floats:
    """How far channel A stood above B in each window: partner A's windows ``near_db``
    above the balance, B's ``near_db`` below, each scattered by about 1 dB."""
    rng = np.random.default_rng(3)
    a = balance_db + near_db + rng.normal(0.0, 0.7, a_windows)
    b = balance_db - near_db + rng.normal(0.0, 0.7, b_windows)
    values: Floats = rng.permutation(np.concatenate((a, b)))
    return values


@pytest.mark.parametrize("balance_db", [-9.0, -6.0, -1.5, 3.0, 6.0, 12.0])
def test_the_balance_is_the_midpoint_between_the_two_partners(balance_db: float) -> None:
    # With B's microphone 6 dB down, partner B's own windows stand 1 dB above A's
    # channel (7 - 6): by the raw leads B's voice would never be taught.
    found = CrosstalkConfig().balance_db(_partners(balance_db, 40, 12))
    assert found == pytest.approx(balance_db, abs=0.5)


def test_microphones_nearly_alike_are_taken_as_alike() -> None:
    config = CrosstalkConfig()
    for balance_db in (-0.6, 0.0, 0.4):
        assert config.balance_db(_partners(balance_db, 40, 12)) == 0.0


def test_one_partner_alone_gives_no_balance_yet() -> None:
    # Partner A alone, their windows scattered over a few decibels: one group, so no
    # offset is read into it (it would make half of A's windows teach B's voice).
    rng = np.random.default_rng(5)
    config = CrosstalkConfig()
    assert config.balance_db(8.0 + rng.normal(0.0, 1.0, 60)) is None
    assert config.balance_db(rng.uniform(3.0, 11.0, 60)) is None


def test_too_few_windows_of_a_partner_give_no_balance_yet() -> None:
    config = CrosstalkConfig()
    few = config.min_enrol_windows - 1
    assert config.balance_db(_partners(6.0, 40, few)) is None
    assert config.balance_db(_partners(6.0, few, few)) is None
    assert config.balance_db(_partners(6.0, 40, few + 1)) == pytest.approx(6.0, abs=0.5)


def test_a_partner_heard_mostly_over_the_other_gives_no_balance_yet() -> None:
    # Early in a session: B has said one clear word and otherwise only spoke over A, so
    # their windows lie between the groups; their median would put the balance 4 dB
    # too high, and the groups are far too spread for two partners.
    a = 13.6 + np.random.default_rng(2).normal(0.0, 0.5, 8)
    b = np.array([-2.5, 5.1, 5.1, 8.1, 8.5, 9.3])
    assert CrosstalkConfig().balance_db(np.concatenate((a, b))) is None


def test_the_balance_is_held_within_its_limit() -> None:
    config = CrosstalkConfig()
    assert config.balance_db(_partners(30.0, 30, 30)) == config.max_balance_db
    assert config.balance_db(_partners(-30.0, 30, 30)) == -config.max_balance_db


def test_an_own_part_beside_the_other_s_voice_gives_up_the_steps_that_stand_under_it() -> None:
    # Steps of 10 ms from 10.0 s: the other's voice to 10.5 s, then the own part, whose
    # first 0.2 s still stand 6 dB under the other channel (the other's last word and
    # its echo), then the other's voice again from 11.5 s, the own part's last 0.1 s
    # under it.
    under = np.zeros(200, dtype=bool)
    under[:70] = True
    under[140:] = True
    parts = [(10.0, 10.5, True), (10.5, 11.5, False), (11.5, 12.0, True)]
    trimmed = _own_edges_trimmed(parts, under, 10.0)
    assert [(round(a, 2), round(b, 2), far) for a, b, far in trimmed] == [
        (10.0, 10.5, True),
        (10.5, 10.7, True),
        (10.7, 11.4, False),
        (11.4, 11.5, True),
        (11.5, 12.0, True),
    ]
    # Not beside the other's voice, or under all through: as it was.
    alone = [(10.0, 11.5, False)]
    assert _own_edges_trimmed(alone, under, 10.0) == alone
    everywhere = [(10.0, 10.5, True), (10.5, 11.0, False)]
    assert _own_edges_trimmed(everywhere, np.ones(100, dtype=bool), 10.0) == everywhere
