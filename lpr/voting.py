"""Voting across frames: one decision per vehicle, made as early as the evidence allows.

Each reading joins the track of the vehicle it belongs to (overlapping box, or
text within two edits of the track's plate: a car moves between frames at a few
frames a second). A track is decided:

- at once, when one frame is strong on its own (``strong_threshold``) and the
  track's vote agrees with it;
- when ``min_frames`` reads agree well enough (``act_threshold``);
- at ``max_frames`` reads, or when the vehicle is gone (``lost_after`` seconds
  without a read), whatever the vote says, flagged not actionable if it is weak.

Each track is decided exactly once; later reads of the same vehicle only keep it
alive, so a car waiting at the barrier is not announced again.

The vote is per character position, among reads of the winning length: each read
is evidence for its character with its confidence, and against the others
(spread over a few look-alikes), and the posterior of the winning character is that
position's confidence. Frames are treated as independent, which overstates
agreement between frames sharing the same glare: ``min_frames`` and the cap on a
single read's confidence keep that in check.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum

from lpr.matching import edit_distance
from lpr.regions import Region, fit_text
from lpr.types import Box, Reading

# Where a misread goes: one of a few look-alikes, not anywhere in the alphabet.
# Spreading it over all 36 symbols would make three agreeing reads at 50% look
# certain; with three choices they make 80%.
ALPHABET_SIZE = 3
# No single frame is taken as certain, so one contrary frame always counts.
MAX_READ_CONFIDENCE = 0.99
MIN_READ_CONFIDENCE = 0.05


class Reason(Enum):
    STRONG_FRAME = "one frame was strong enough"
    AGREEMENT = "enough frames agree"
    FRAME_LIMIT = "frame limit reached"
    VEHICLE_LEFT = "vehicle left before the reads agreed"


@dataclass(frozen=True)
class VoteSettings:
    act_threshold: float = 0.90
    strong_threshold: float = 0.97
    min_frames: int = 3
    max_frames: int = 12
    lost_after: float = 1.5  # seconds
    match_edits: int = 2
    match_iou: float = 0.2


@dataclass(frozen=True)
class Decision:
    """The one plate decided for a vehicle; ``actionable`` is False when it is not trusted."""

    track_id: int
    text: str
    confidence: float
    char_conf: tuple[float, ...]
    frames: int
    actionable: bool
    reason: Reason
    box: Box
    first_seen: float
    decided_at: float
    format_name: str | None


@dataclass(frozen=True)
class Vote:
    text: str
    char_conf: tuple[float, ...]
    confidence: float
    format_name: str | None


def _clamp(c: float) -> float:
    return min(MAX_READ_CONFIDENCE, max(MIN_READ_CONFIDENCE, c))


def combine(readings: list[Reading], region: Region | None = None) -> Vote:
    """The vote of several reads of one plate (see the module's docstring).

    With a region, a voted text that fits none of its formats (a mix of an old
    Brazilian and a Mercosur read, say) gets no confidence.
    """
    if not readings:
        raise ValueError("nothing to combine")
    by_length: dict[int, list[Reading]] = defaultdict(list)
    for r in readings:
        by_length[len(r.text)].append(r)
    weight = {n: sum(r.confidence for r in rs) for n, rs in by_length.items()}
    length = max(weight, key=lambda n: (weight[n], len(by_length[n])))
    total_weight = sum(weight.values())
    length_share = weight[length] / total_weight if total_weight > 0 else 0.0
    group = by_length[length]
    chars, confs = zip(*(_vote_position(group, pos) for pos in range(length)), strict=True)
    text = "".join(chars)
    formats = [r for r in group if r.text == text and r.format_name] or [
        r for r in group if r.format_name
    ]
    format_name = max(formats, key=lambda r: r.confidence).format_name if formats else None
    if region is not None:
        fitted = fit_text(text, region)
        format_name = fitted.format_name if fitted is not None and fitted.text == text else None
    overall = min(confs) * length_share if format_name else 0.0
    return Vote(text, tuple(confs), overall, format_name)


def _vote_position(group: list[Reading], pos: int) -> tuple[str, float]:
    """The posterior-best character at ``pos`` and its posterior probability."""
    seen = {r.text[pos] for r in group}
    against = [math.log((1 - _clamp(r.char_conf[pos])) / (ALPHABET_SIZE - 1)) for r in group]
    log_like: dict[str, float] = {}
    for ch in seen:
        log_like[ch] = sum(
            math.log(_clamp(r.char_conf[pos])) if r.text[pos] == ch else a
            for r, a in zip(group, against, strict=True)
        )
    top = max(log_like.values())
    mass = {ch: math.exp(v - top) for ch, v in log_like.items()}
    # Characters no read proposed share the rest of the alphabet.
    rest = max(0, ALPHABET_SIZE - len(seen)) * math.exp(sum(against) - top)
    best = max(mass, key=lambda ch: mass[ch])
    posterior = mass[best] / (sum(mass.values()) + rest)
    if all(pos in r.held for r in group):
        # Every frame read the same glyph that the formats could not place (O or 0
        # where two formats disagree): frames that agree on it add no evidence.
        posterior = min(posterior, max(r.char_conf[pos] for r in group))
    return best, posterior


@dataclass
class _Track:
    track_id: int
    first_seen: float
    last_seen: float
    box: Box
    reads: list[Reading] = field(default_factory=list)
    text: str = ""
    decided: bool = False


class PlateVoter:
    """Feeds on each frame's readings; returns the decisions made at that frame."""

    def __init__(self, settings: VoteSettings | None = None, region: Region | None = None) -> None:
        self.settings = settings or VoteSettings()
        self.region = region
        self._tracks: list[_Track] = []
        self._ids = itertools.count(1)

    @property
    def open_tracks(self) -> int:
        return len(self._tracks)

    def update(self, readings: list[Reading], timestamp: float) -> list[Decision]:
        decisions = self._expire(timestamp)
        for reading in readings:
            track = self._track_for(reading, timestamp)
            track.reads.append(reading)
            track.last_seen, track.box = timestamp, reading.box
            vote = combine(track.reads, self.region)
            track.text = vote.text
            if not track.decided:
                decision = self._decide(track, vote, reading, timestamp)
                if decision is not None:
                    decisions.append(decision)
        return decisions

    def flush(self, timestamp: float) -> list[Decision]:
        """Decide every open track: the stream has ended."""
        decisions = [
            self._final(t, Reason.VEHICLE_LEFT, timestamp) for t in self._tracks if not t.decided
        ]
        self._tracks.clear()
        return decisions

    def _expire(self, now: float) -> list[Decision]:
        gone = [t for t in self._tracks if now - t.last_seen > self.settings.lost_after]
        self._tracks = [t for t in self._tracks if t not in gone]
        return [self._final(t, Reason.VEHICLE_LEFT, now) for t in gone if not t.decided]

    def _track_for(self, reading: Reading, now: float) -> _Track:
        best: _Track | None = None
        best_key = (-1.0, 0.0)
        for track in self._tracks:
            iou = reading.box.iou(track.box)
            edits = edit_distance(reading.text, track.text)
            if iou < self.settings.match_iou and edits > self.settings.match_edits:
                continue
            key = (iou, -float(edits))
            if key > best_key:
                best, best_key = track, key
        if best is None:
            best = _Track(next(self._ids), first_seen=now, last_seen=now, box=reading.box)
            self._tracks.append(best)
        return best

    def _decide(self, track: _Track, vote: Vote, latest: Reading, now: float) -> Decision | None:
        s = self.settings
        if (
            latest.format_name is not None
            and latest.confidence >= s.strong_threshold
            and vote.text == latest.text
            and vote.confidence >= s.act_threshold
        ):
            return self._emit(track, vote, Reason.STRONG_FRAME, now)
        if len(track.reads) >= s.min_frames and vote.confidence >= s.act_threshold:
            return self._emit(track, vote, Reason.AGREEMENT, now)
        if len(track.reads) >= s.max_frames:
            return self._emit(track, vote, Reason.FRAME_LIMIT, now)
        return None

    def _final(self, track: _Track, reason: Reason, now: float) -> Decision:
        return self._emit(track, combine(track.reads, self.region), reason, now)

    def _emit(self, track: _Track, vote: Vote, reason: Reason, now: float) -> Decision:
        track.decided = True
        return Decision(
            track_id=track.track_id,
            text=vote.text,
            confidence=vote.confidence,
            char_conf=vote.char_conf,
            frames=len(track.reads),
            actionable=vote.confidence >= self.settings.act_threshold,
            reason=reason,
            box=track.box,
            first_seen=track.first_seen,
            decided_at=now,
            format_name=vote.format_name,
        )
