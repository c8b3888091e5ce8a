"""Voting across frames: flipped characters, early decisions, one decision per vehicle."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lpr.types import Box, Reading
from lpr.voting import PlateVoter, Reason, VoteSettings, combine

BOX = Box(100, 400, 200, 60)


def reading(
    text: str, conf: float = 0.93, *, box: Box = BOX, weak: dict[int, float] | None = None
) -> Reading:
    confs = tuple((weak or {}).get(i, conf) for i in range(len(text)))
    return Reading(text, box, confs, min(confs), "Brazil ABC1234", score=min(confs))


def flip(text: str, i: int, ch: str) -> str:
    return text[:i] + ch + text[i + 1 :]


def test_majority_beats_a_flipped_character() -> None:
    reads = [reading("ABC1234")] * 3 + [reading("ABC1284", weak={5: 0.6})] * 2
    vote = combine(reads)
    assert vote.text == "ABC1234"
    assert vote.confidence > 0.9
    assert vote.char_conf[5] < vote.char_conf[0]


def test_even_split_is_not_good_enough() -> None:
    vote = combine([reading("ABC1234", 0.8), reading("ABC1284", 0.8)])
    assert vote.confidence < 0.6


def test_strong_first_frame_decides_at_once() -> None:
    voter = PlateVoter()
    decisions = voter.update([reading("ABC1234", 0.99)], 0.0)
    assert len(decisions) == 1
    assert decisions[0].reason is Reason.STRONG_FRAME
    assert decisions[0].actionable
    assert decisions[0].frames == 1
    # The same vehicle keeps being read: no second decision.
    for t in range(1, 6):
        assert voter.update([reading("ABC1234", 0.99)], t * 0.1) == []


def test_weak_frames_wait_for_agreement() -> None:
    voter = PlateVoter(VoteSettings(min_frames=3))
    assert voter.update([reading("ABC1234", 0.8)], 0.0) == []
    assert voter.update([reading("ABC1284", 0.8)], 0.1) == []
    decided = []
    t = 0.2
    while not decided:
        decided = voter.update([reading("ABC1234", 0.8)], t)
        t += 0.1
    assert decided[0].text == "ABC1234"
    assert decided[0].reason is Reason.AGREEMENT
    assert decided[0].actionable


def test_vehicle_leaving_with_no_agreement_is_reported_not_actionable() -> None:
    voter = PlateVoter(VoteSettings(lost_after=1.0))
    voter.update([reading("ABC1234", 0.6)], 0.0)
    voter.update([reading("ABC1284", 0.6)], 0.2)
    assert voter.update([], 0.5) == []
    decisions = voter.update([], 2.0)
    assert len(decisions) == 1
    assert decisions[0].reason is Reason.VEHICLE_LEFT
    assert not decisions[0].actionable
    assert voter.open_tracks == 0


def test_frame_limit_decides_a_weak_track() -> None:
    voter = PlateVoter(VoteSettings(max_frames=4))
    out = []
    for t in range(4):
        out += voter.update([reading("ABC1234", 0.4)], t * 0.1)
    assert [d.reason for d in out] == [Reason.FRAME_LIMIT]
    assert not out[0].actionable


def test_two_vehicles_two_decisions() -> None:
    voter = PlateVoter()
    other = Box(800, 400, 200, 60)
    out = voter.update([reading("ABC1234", 0.99), reading("XYZ9876", 0.99, box=other)], 0.0)
    assert sorted(d.text for d in out) == ["ABC1234", "XYZ9876"]
    assert len({d.track_id for d in out}) == 2


def test_flush_decides_open_tracks() -> None:
    voter = PlateVoter()
    voter.update([reading("ABC1234", 0.7)], 0.0)
    out = voter.flush(0.1)
    assert [d.text for d in out] == ["ABC1234"]
    assert voter.flush(0.2) == []


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), frames=st.integers(5, 10), flips=st.integers(1, 2))
def test_flipped_minority_never_wins(seed: int, frames: int, flips: int) -> None:
    rng = random.Random(seed)
    plate = "ABC1234"
    reads = []
    flipped = set(rng.sample(range(frames), flips))
    for f in range(frames):
        if f in flipped:
            i = rng.randrange(len(plate))
            ch = rng.choice([c for c in "0123456789ABCDEFGH" if c != plate[i]])
            reads.append(reading(flip(plate, i, ch), weak={i: rng.uniform(0.4, 0.95)}))
        else:
            reads.append(reading(plate, rng.uniform(0.85, 0.99)))
    voter = PlateVoter(VoteSettings(strong_threshold=1.1, max_frames=frames))
    decisions = []
    for f, r in enumerate(reads):
        decisions += voter.update([r], f * 0.1)
    decisions += voter.flush(frames * 0.1)
    assert len(decisions) == 1
    assert decisions[0].text == plate


def test_a_vote_that_fits_no_format_is_not_trusted() -> None:
    from lpr.regions import get_region

    # Old Brazilian reads and Mercosur reads of a plate, mixed position by
    # position, could give a text neither format allows.
    reads = [reading("ABC1234", 0.95), reading("ABC1D34", 0.95), reading("ABC1234", 0.95)]
    assert combine(reads, get_region("br")).text == "ABC1234"
    mixed = [reading("ABCD234", 0.95)] * 3
    vote = combine(mixed, get_region("br"))
    assert vote.format_name is None
    assert vote.confidence == 0.0


def test_frames_agreeing_on_a_held_place_do_not_make_it_actionable() -> None:
    # Each frame read "0" where the old Brazilian format reads 0 and Mercosur O,
    # and the glyph never settled it: the frames share that glyph, so agreeing on
    # it is no evidence.
    held = Reading(
        "PFP9095", BOX, (0.99, 0.99, 0.99, 0.99, 0.5, 0.99, 0.99), 0.5, "Brazil ABC1234", held=(4,)
    )
    vote = combine([held] * 6)
    assert vote.text == "PFP9095"
    assert vote.char_conf[4] <= 0.5
    assert vote.confidence < 0.9
    voter = PlateVoter()
    decisions = [d for t in range(6) for d in voter.update([held], t * 0.2)]
    decisions += voter.flush(10.0)
    assert len(decisions) == 1
    assert not decisions[0].actionable
    # Unheld reads at the same confidence do add up.
    plain = Reading("PFP9095", BOX, held.char_conf, 0.5, "Brazil ABC1234")
    assert combine([plain] * 6).char_conf[4] > 0.9
