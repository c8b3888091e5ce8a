"""End to end on plates the project renders: fonts, skew, blur, glare, night, occlusion,
two-line plates; offline; through the command line."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import numpy as np
import pytest

from lpr import render, sessions
from lpr.cli import main
from lpr.evaluate import pick
from lpr.reader import ACT_THRESHOLD, PlateReader, ReaderSettings
from lpr.voting import PlateVoter

FAULTS = {
    "clean": render.Faults(),
    "skew": render.Faults(skew=0.7),
    "blur": render.Faults(blur=0.6),
    "glare": render.Faults(glare=0.6),
    "night": render.Faults(night=0.7),
    "occlusion": render.Faults(occlusion=0.08),
}


def read_samples(reader: PlateReader, samples: list[render.Sample]) -> tuple[int, int, list[str]]:
    """Exact reads, actionable reads, and the wrong reads that were actionable."""
    exact = actionable = 0
    wrong_acted: list[str] = []
    for s in samples:
        reading, _ = pick(reader.read(s.frame), s.box)
        right = reading is not None and reading.text == s.text
        exact += right
        if reading is not None and reading.actionable(ACT_THRESHOLD):
            actionable += 1
            if not right:
                wrong_acted.append(f"{s.text} read {reading.text}")
    return exact, actionable, wrong_acted


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_rendered_plates_read_end_to_end(reader: PlateReader, fault: str) -> None:
    rng = random.Random(11)
    regions = ["eu", "us", "br", "cn"]
    samples = [render.sample(regions[i % 4], rng, faults=FAULTS[fault]) for i in range(6)]
    exact, actionable, wrong_acted = read_samples(reader, samples)
    assert exact >= 5, f"{fault}: {exact}/6 exact"
    assert actionable >= 2
    # A gate acts only on reads it can trust. The recogniser can still be sure and
    # wrong (a dotted-zero font's plain O read as 0 is one seen case): at most one
    # such read in a group, and the rendered-set figure in the README counts them.
    assert len(wrong_acted) <= 1, wrong_acted


def test_two_line_plates(reader: PlateReader) -> None:
    rng = random.Random(5)
    samples = [render.sample(r, rng, two_line=True) for r in ("eu", "br", "cn", "cn")]
    exact, _, wrong_acted = read_samples(reader, samples)
    assert exact >= 3
    assert len(wrong_acted) <= 1, wrong_acted


def test_reading_carries_box_and_confidences(reader: PlateReader) -> None:
    s = render.sample("br", random.Random(2))
    readings = reader.read(s.frame)
    assert readings, "no plate found"
    r = readings[0]
    assert r.text == s.text
    assert len(r.char_conf) == len(r.text)
    assert all(0.0 <= c <= 1.0 for c in r.char_conf)
    assert r.confidence <= min(r.char_conf)
    assert r.box.iou(s.box) > 0.5


def test_empty_frame_has_no_plates(reader: PlateReader) -> None:
    assert reader.read(np.full((720, 1280, 3), 90, np.uint8)) == []


def test_reads_with_networking_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network is unavailable in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # Load the models afresh under the cut, not from an earlier test's cache.
    sessions.load.cache_clear()
    try:
        reader = PlateReader(ReaderSettings(region="br"))
        s = render.sample("br", random.Random(3))
        readings = reader.read(s.frame)
    finally:
        sessions.load.cache_clear()
    assert readings
    assert readings[0].text == s.text
    assert attempts == []


@pytest.fixture(scope="module")
def br_reader() -> PlateReader:
    return PlateReader(ReaderSettings(region="br"))


@pytest.mark.parametrize("region", ["br", "any"])
def test_rendered_vehicle_is_decided_once(
    reader: PlateReader, br_reader: PlateReader, region: str
) -> None:
    plate_reader = br_reader if region == "br" else reader
    rng = random.Random(8)
    frames = render.vehicle_frames("ABC1234", "br", rng, frames=5)
    voter = PlateVoter()
    decisions = []
    for i, s in enumerate(frames):
        decisions += voter.update(plate_reader.read(s.frame), i * 0.2)
    decisions += voter.flush(2.0)
    # With Brazil's formats the glyphs settle the places where the two formats
    # disagree. With every region's, the "1" could as well be the "I" of a German
    # ABCI234, which the glyph does not settle: agreeing frames share that glyph,
    # so the vehicle is decided once, and not acted on.
    assert [(d.text, d.actionable) for d in decisions] == [("ABC1234", region == "br")]


def test_cli_eval_prints_the_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    render.write_set(tmp_path, 4, seed=4, regions=("br",))
    assert main(["eval", str(tmp_path), "--region", "br"]) == 0
    out, err = capsys.readouterr()
    for figure in (
        "exact match",
        "within one character",
        "detection rate",
        "precision at threshold",
        "confident enough to act on",
        "median",
        "p95",
    ):
        assert figure in out
    assert "[4/4]" in err  # progress while it runs
    assert "exact match                     100.0%" in out


def test_cli_read_prints_plates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", "sim://", "--frames", "1", "--region", "br"]) == 0
    out = capsys.readouterr().out
    assert "confidence" in out
    assert "per character" in out


def test_cli_rejects_unknown_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    render.write_set(tmp_path, 1, seed=1)
    assert main(["eval", str(tmp_path), "--region", "mars"]) == 1
    assert "unknown region" in capsys.readouterr().err


def test_cli_watch_decides_each_simulated_vehicle_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "sim://", "--region", "any"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("vehicle")]
    # The shipped feed: three vehicles, four frames each.
    assert len(lines) == 3
    acted = {ln.split()[2] for ln in lines if "(act)" in ln}
    # With every region's formats, the Brazilian car's "1" at its fourth place could
    # as well be the "I" of a German MUBIR15, and the glyph does not settle it: the
    # gate asks for a ticket rather than guess. The other two are acted on.
    assert acted == {"MPCF7684", "387LXA"}
    assert "MUB1R15 confidence" in next(ln for ln in lines if "MUB1R15" in ln)
    assert main(["watch", "sim://", "--region", "br", "--frames", "4"]) == 0
    brazil = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("vehicle")]
    assert any(ln.split()[2] == "MUB1R15" and "(act)" in ln for ln in brazil)


def test_fp32_detector_still_reads() -> None:
    # The int8 detector is the default; the fp32 one from the rapidocr wheel is the
    # fallback for CPUs without integer dot-product units.
    reader = PlateReader(ReaderSettings(region="br", int8_detector=False))
    s = render.sample("br", random.Random(12))
    readings = reader.read(s.frame)
    assert readings
    assert readings[0].text == s.text


def test_int8_detector_ships_with_the_package() -> None:
    assert (sessions.OWN_MODELS / sessions.INT8_DETECTOR).is_file()


def test_eu_band_country_code_is_not_part_of_the_plate(reader: PlateReader) -> None:
    rng = random.Random(4)
    right = 0
    for band in ("D", "NL", "B", "A", "F", "PL"):
        text = render.random_plate("eu", rng)
        plate = render.render_plate(text, render.Style(band=band))
        s = render.compose(plate, text, rng=rng, plate_width=rng.randint(180, 260))
        reading, _ = pick(reader.read(s.frame), s.box)
        right += reading is not None and reading.text == text
    assert right >= 5


def test_prepaid_lpr_is_wired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main as prepaid

    render.write_set(tmp_path, 2, seed=6, regions=("br",))
    assert prepaid(["lpr", "eval", str(tmp_path), "--region", "br", "--quiet"]) == 0
    assert "exact match" in capsys.readouterr().out


def test_widened_read_helpers() -> None:
    from lpr.line_marks import on_a_band
    from lpr.reader import _extends

    assert _extends("PJK4867", "JK4867")
    assert not _extends("DUH9191", "OUH9191")
    white = np.full((48, 200, 3), 235, np.uint8)
    wide = np.full((48, 240, 3), 235, np.uint8)
    assert not on_a_band(wide, white, left=True)
    wide[:, :20] = (153, 51, 0)  # the EU band's blue, in BGR
    assert on_a_band(wide, white, left=True)
    assert not on_a_band(wide, white, left=False)


def test_us_state_names_and_slogans_are_not_read_as_the_plate() -> None:
    reader = PlateReader(ReaderSettings(region="us"))
    rng = random.Random(4)
    right = 0
    for header, footer in (("TEXAS", "The Lone Star State"), ("California", ""), ("OHIO", "")):
        text = render.random_plate("us", rng)
        plate = render.render_plate(text, render.Style(header=header, footer=footer))
        s = render.compose(plate, text, rng=rng, plate_width=rng.randint(180, 260))
        reading, _ = pick(reader.read(s.frame), s.box)
        right += reading is not None and reading.text == text
    assert right == 3


def test_grey_infrared_frames_are_read(reader: PlateReader) -> None:
    import cv2

    s = render.sample("br", random.Random(21), faults=render.Faults(night=0.3))
    grey = cv2.cvtColor(s.frame, cv2.COLOR_BGR2GRAY)
    readings = reader.read(grey)
    assert readings
    assert readings[0].text == s.text


def test_band_is_trimmed_but_a_blue_plate_is_not() -> None:
    from lpr.line_marks import trim_band

    plate = np.full((48, 200, 3), 235, np.uint8)
    plate[:, 5:25] = (153, 51, 0)  # the EU band, after a little background
    assert trim_band(plate).shape[1] == 175
    chinese = np.full((48, 200, 3), (160, 70, 20), np.uint8)
    assert trim_band(chinese).shape[1] == 200


def test_bands_at_both_ends_are_trimmed_across_the_border_line() -> None:
    from lpr.line_marks import trim_band

    plate = np.full((48, 240, 3), 235, np.uint8)
    plate[:, 5:25] = (153, 51, 0)  # the EU band
    plate[:, 215:235] = (153, 51, 0)  # a French department's band
    plate[:, 8] = (20, 20, 20)  # the plate's border line drawn over the band
    plate[:, 232] = (20, 20, 20)
    assert trim_band(plate).shape[1] == 190


def _banded_plates(count: int, seed: int = 5) -> list[render.Sample]:
    """French and Italian plates with a band at both ends: the country code on the
    left, a department's number on the right; the fonts and faults cycled."""
    rng = random.Random(seed)
    fonts = [p for p in (render.find_font([n]) for n in render.LATIN_FONTS) if p is not None]
    samples = []
    for n in range(count):
        text = "".join(
            rng.choice("0123456789" if i in (2, 3, 4) else "ABCDEFGHJKLMNPRSTVWXYZ")
            for i in range(7)
        )
        style = render.Style(
            font=rng.choice(fonts) if fonts else None,
            band=rng.choice("FI"),
            right_band=f"{rng.randint(1, 95):02d}",
        )
        plate = render.render_plate(text, style)
        faults = render.FAULT_MIX[n % len(render.FAULT_MIX)]
        samples.append(
            render.compose(plate, text, rng=rng, plate_width=rng.randint(160, 260), faults=faults)
        )
    return samples


@pytest.mark.parametrize("seed", [4, 5])
def test_a_department_band_on_the_right_is_no_part_of_the_plate(
    reader: PlateReader, seed: int
) -> None:
    # Once acted on wrongly: with seed 4, a box that clipped the foot of the last L
    # (NE495ZL read NE495ZI, sure of the I; the widened crop read the L); with seed
    # 5, a box that clipped a J under glare (V145KF fitted as Portuguese VI45KF,
    # where the widened crop read JV145KF).
    exact, _, wrong_acted = read_samples(reader, _banded_plates(16, seed))
    assert wrong_acted == []
    assert exact == 16


def test_hyphens_and_seals_between_characters_are_no_characters(reader: PlateReader) -> None:
    rng = random.Random(4)
    samples = []
    for n, (text, band, marks) in enumerate(
        [
            ("AB123CD", "F", ((2, "-"), (5, "-"))),
            ("GH704KL", "F", ((2, "-"), (5, "-"))),
            ("12ABC3", "NL", ((2, "-"), (5, "-"))),
            ("45XYZ7", "NL", ((2, "-"), (5, "-"))),
            ("MKA1234", "D", ((1, "seal"),)),
            ("HHAB123", "D", ((2, "seal"),)),
        ]
    ):
        style = render.Style(band=band, marks=marks, right_band="75" if band == "F" else "")
        plate = render.render_plate(text, style)
        faults = render.FAULT_MIX[n % 3]
        samples.append(render.compose(plate, text, rng=rng, plate_width=220, faults=faults))
    exact, _, wrong_acted = read_samples(reader, samples)
    assert wrong_acted == []
    assert exact >= 5


def _sealed_plates(count: int, seed: int) -> list[render.Sample]:
    """German plates with the two seals between district and letters, the faults cycled."""
    rng = random.Random(seed)
    fonts = [p for p in (render.find_font([n]) for n in render.LATIN_FONTS) if p is not None]
    samples = []
    for n in range(count):
        district, letters = rng.randint(1, 3), rng.randint(1, 2)
        digits = min(rng.randint(max(1, 5 - district - letters), 4), 8 - district - letters)
        text = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(district + letters))
        text += "".join(rng.choice("0123456789") for _ in range(digits))
        style = render.Style(
            font=rng.choice(fonts) if fonts else None, band="D", marks=((district, "seal"),)
        )
        faults = render.FAULT_MIX[n % len(render.FAULT_MIX)]
        plate = render.render_plate(text, style)
        samples.append(
            render.compose(plate, text, rng=rng, plate_width=rng.randint(170, 260), faults=faults)
        )
    return samples


def test_a_seal_read_as_a_character_is_left_out() -> None:
    # Before the seals were seen, ETCR5 was acted on as ETBCR5 (the seals read as a
    # B), and others read with an 8 for them (FBJ8V6 for FBJV6).
    reader = PlateReader(ReaderSettings(region="eu"))
    exact, _, wrong_acted = read_samples(reader, _sealed_plates(24, 4))
    assert wrong_acted == []
    # One blurred seal (WHWL90's) is seen or not by a pixel's rounding, which differs
    # between CPUs (the SIMD paths of the blur and of the models); unseen, it is read
    # as an 8 and held, never acted on.
    assert exact >= 23


def test_a_sticker_is_a_coloured_place_inside_the_read() -> None:
    from lpr.line_marks import sticker_place
    from lpr.recognise import LineRead

    plate = np.full((40, 200, 3), 235, np.uint8)
    spans = tuple((i / 5 + 0.05, i / 5 + 0.15) for i in range(5))
    read = LineRead(tuple({"A": 0.9} for _ in range(5)), spans)
    assert sticker_place(plate, read) is None
    plate[8:32, 85:115] = (230, 160, 40)  # a blue disc over the third place
    assert sticker_place(plate, read) == 2
    plate[8:32, 5:35] = (40, 160, 230)  # an orange one over the first: an end, no seal
    assert sticker_place(plate, read) == 2
    plate[8:32, 125:155] = (40, 160, 230)  # two coloured places: nothing stands out
    assert sticker_place(plate, read) is None
    assert sticker_place(plate, LineRead(read.positions)) is None  # no spans known


def test_a_character_on_a_coloured_ground_is_no_sticker() -> None:
    # A specialty plate's picture (a sun behind a 4) colours a place as a seal does,
    # but the place holds a character's ink, where a seal's print is thin.
    from lpr.line_marks import sticker_place
    from lpr.recognise import LineRead

    plate = np.full((40, 200, 3), 235, np.uint8)
    spans = tuple((i / 5 + 0.05, i / 5 + 0.15) for i in range(5))
    read = LineRead(tuple({"A": 0.9} for _ in range(5)), spans)
    plate[8:32, 85:115] = (150, 200, 250)  # a pale orange sun behind the third place
    for i in range(5):
        plate[10:30, 40 * i + 15 : 40 * i + 25] = 20  # each place's stroke of ink
    assert sticker_place(plate, read) is None
    plate[10:30, 95:105] = (150, 200, 250)  # the third place without its stroke: a seal
    assert sticker_place(plate, read) == 2


def test_a_fragment_gives_way_to_the_longer_overlapping_reading() -> None:
    from lpr.reader import _dedupe
    from lpr.types import Box, Reading

    half = Reading("6D0BM", Box(10, 40, 100, 30), (0.99,) * 5, 0.99, "other", score=0.9)
    whole = Reading("鄂YP6D0BM", Box(10, 10, 100, 60), (0.8,) * 8, 0.8, "China", score=0.3)
    kept = _dedupe([half, whole])
    # The row read alone is never acted on; the whole plate stands on its own
    # confidence (too low here).
    assert [r.text for r in kept] == ["鄂YP6D0BM"]
    assert not kept[0].actionable(ACT_THRESHOLD)


def test_a_box_too_tall_for_the_one_row_read_from_it_is_not_acted_on() -> None:
    from lpr.detect import TextLine
    from lpr.reader import MIN_ROW_ASPECT, _rows_in_one
    from lpr.types import Box, Reading

    one_row = Reading("OH67", Box(0, 0, 120, 50), (0.99,) * 4, 0.99, "DE B AB 1234")
    # Plate glyphs stand about 0.5 to 0.7 of their height wide: 4 characters in a
    # box 2.4 heights wide is one row...
    assert not _rows_in_one(TextLine((60.0, 25.0), (120.0, 50.0), 0.0, 0.9), one_row)
    # ...and in a box as wide as it is tall, two rows read as one.
    tall = TextLine((60.0, 60.0), (4 * MIN_ROW_ASPECT * 100.0, 100.0), 0.0, 0.9)
    assert _rows_in_one(tall, one_row)


def test_one_row_of_a_two_line_plate_is_never_acted_on_alone(reader: PlateReader) -> None:
    # "OH67" alone is a valid German plate; it is the lower row of "72" / "OH67".
    # The first pass, at a third of the frame's resolution, sees only that row;
    # before it is acted on, a closer look finds the row above.
    # Whether the first pass sees the upper row too depends on the CPU's arithmetic
    # (int8 kernels round differently), so the row alone is handed to the closer look
    # as that pass would: over the lower half of the plate, sure of itself.
    from lpr.types import Box, Reading

    plate = render.render_plate("72OH67", render.Style(two_line_split=2))
    rng = random.Random(3)
    for width in (150, 170):
        s = render.compose(plate, "72OH67", rng=rng, plate_width=width)
        b = s.box
        row = Reading(
            "OH67", Box(b.x, b.y + b.h // 2, b.w, b.h // 2), (0.99,) * 4, 0.99, "DE B AB 1234"
        )
        assert row.actionable(ACT_THRESHOLD)
        confirmed = reader._confirm_parts(s.frame, [row])
        assert [r.text for r in confirmed if r.actionable(ACT_THRESHOLD)] == ["72OH67"]
        readings = reader.read(s.frame)
        assert [r.text for r in readings if r.actionable(ACT_THRESHOLD)] == ["72OH67"]


def test_a_row_between_a_header_and_a_row_joins_the_row_of_its_height() -> None:
    # "TEXAS" over "04" over "2HZC": a close look can box the small state name nearly
    # as tall as the row under it, so both joins pass as two-line plates (TEXAS04 fits
    # a German format). A row belongs to one plate: the pair whose rows share a height.
    from lpr.reader import _one_plate_a_row
    from lpr.types import Box, Reading

    def two_line(text: str) -> Reading:
        return Reading(text, Box(0, 0, 10, 10), (1.0,) * len(text), 1.0, "f", rows=2)

    texas, plate = two_line("TEXAS04"), two_line("042HZC")
    # Rows 0 (TEXAS, 39 px), 1 (04, 51 px), 2 (2HZC, 56 px): mismatch is |log(h1/h2)|.
    paired = [(0.27, 0, 1, texas), (0.09, 1, 2, plate)]
    assert _one_plate_a_row(paired) == [plate]
    assert _one_plate_a_row(list(reversed(paired))) == [plate]
    other = two_line("AB12CD")  # a second plate's rows elsewhere in the frame
    assert _one_plate_a_row([*paired, (0.3, 3, 4, other)]) == [plate, other]


def test_reads_that_may_be_part_of_a_longer_plate() -> None:
    from lpr.types import Box, Reading

    eu = PlateReader(ReaderSettings(region="eu"))
    br = PlateReader(ReaderSettings(region="br"))
    row = Reading("OH67", Box(0, 0, 10, 10), (1.0,) * 4, 1.0, "DE B AB 1234")
    whole = Reading("ABC1234", Box(0, 0, 10, 10), (1.0,) * 7, 1.0, "Brazil ABC1234")
    assert eu.could_be_part(row)
    # Every Brazilian format has seven characters: a full read has no room to grow.
    assert not br.could_be_part(whole)


@pytest.mark.parametrize("region", ["br", "any"])
def test_the_country_name_on_a_mercosur_band_is_no_registration(region: str) -> None:
    # "BRASIL" on the blue band can read as BRASI1, a plate of another format (seed
    # 9's last frame did, before band text was set aside): it is never reported as
    # a plate, and the registration under it is read.
    reader = PlateReader(ReaderSettings(region=region))
    for seed in (7, 8, 9):
        rng = random.Random(seed)
        render.random_plate("br", rng)  # the draws as the camera feed makes them
        for sample in render.vehicle_frames("MUB1R15", "br", rng, size=(960, 540)):
            texts = [r.text for r in reader.read(sample.frame)]
            assert not [t for t in texts if t.startswith("BRAS")], texts
            assert "MUB1R15" in texts


def _mixed_frame(seed: int, name: str) -> render.Sample:
    """A frame of ``render.mixed_set`` (the benchmark's rendered set is seed 2024), as
    the benchmark stores it: JPEG at quality 92."""
    import cv2

    for region, i, sample in render.mixed_set(seed, 20):
        if f"{region}{i}" == name:
            ok, data = cv2.imencode(".jpg", sample.frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
            assert ok
            return render.Sample(cv2.imdecode(data, cv2.IMREAD_COLOR), sample.box, sample.text)
    raise AssertionError(f"no frame {name} in seed {seed}")


@pytest.mark.parametrize(
    ("seed", "name", "region"),
    [
        # Glare over the leading 3 of 3MFW417: the first pass sees W417, the close
        # look MFW417 (a German format), and the part is looked at again before it is
        # acted on; "Florida" above it fits as FLORI04 by two look-alike swaps.
        (2024, "us15", "any"),
        # The state's name over a two-line plate (042 over HZC) joined with its first
        # row as TEXAS04, a German format.
        (13, "us4", "any"),
        # Mercosur plates whose O reads as a sure 0, the old plate's digit; the box
        # of ELV6O48 took the blue band in with the characters.
        (7, "br5", "br"),
        (7, "br18", "br"),
        (13, "br14", "any"),
    ],
)
def test_rendered_frames_once_acted_on_wrongly(seed: int, name: str, region: str) -> None:
    reader = PlateReader(ReaderSettings(region=region))
    sample = _mixed_frame(seed, name)
    readings = reader.read(sample.frame)
    wrong = [r.text for r in readings if r.actionable(ACT_THRESHOLD) and r.text != sample.text]
    assert not wrong, (sample.text, wrong)
    assert any(r.box.iou(sample.box) > 0.2 for r in readings), "the plate is still found"


def test_a_close_look_that_cut_the_plate_reads_it_again_around_what_it_found() -> None:
    # A bar over the left end of 蒙HHW7943 (dressed seed 404, cn5): the first pass reads
    # N7943 unsure, and the close crop laid around that cut off the province character;
    # HHW7943 read there, sure of itself, fits several formats and had been acted on.
    reader = PlateReader(ReaderSettings(region="any"))
    sample = next(
        s for region, i, s in render.mixed_set(404, 20, dressed=True) if f"{region}{i}" == "cn5"
    )
    readings = reader.read(sample.frame)
    wrong = [r.text for r in readings if r.actionable(ACT_THRESHOLD) and r.text != sample.text]
    assert not wrong, (sample.text, wrong)
    assert readings[0].text == sample.text


def test_a_header_over_a_taller_row_is_no_plate_row() -> None:
    from lpr.detect import TextLine
    from lpr.reader import _header, _header_row
    from lpr.recognise import LineRead

    state = TextLine((400.0, 100.0), (100.0, 20.0), 0.0, 0.9)
    row = TextLine((400.0, 135.0), (260.0, 40.0), 0.0, 0.9)
    prefix = TextLine((400.0, 100.0), (60.0, 26.0), 0.0, 0.9)
    word = LineRead(tuple({ch: 1.0} for ch in "TEXAS"))
    province = LineRead(tuple({ch: 1.0} for ch in "京A"))
    assert _header(state, [state, row])
    assert not _header(row, [state, row])
    # A smaller top row that reads a word is a header; one that reads a short
    # prefix (a Chinese province and authority letter) is a plate's first row.
    assert _header_row(state, row, word)
    assert not _header_row(prefix, row, province)
    # Rows of one height (a two-line European plate) are never a header.
    twin = TextLine((400.0, 100.0), (260.0, 40.0), 0.0, 0.9)
    assert not _header(twin, [twin, row])
    assert not _header_row(twin, row, word)


def test_a_picture_behind_a_character_is_no_seal() -> None:
    # A specialty plate's sun behind the second 4 of SIL443 coloured that place as a
    # seal does; read without it, the plate fell to German SIL43 (6 of these 12
    # frames, before a coloured place holding a character's ink was kept).
    reader = PlateReader(ReaderSettings(region="any"))
    samples = []
    for font in render.LATIN_FONTS:
        for seed in range(4):
            rng = random.Random(seed)
            style = render.Style(
                font=render.find_font([font]),
                header="TEXAS",
                footer="The Lone Star State",
                bolts=True,
                sticker="tl",
                scenery=True,
            )
            plate = render.render_plate("SIL443", style)
            faults = render.FAULT_MIX[seed % 3]
            samples.append(
                render.compose(
                    plate, "SIL443", rng=rng, plate_width=rng.randint(170, 240), faults=faults
                )
            )
    exact, _, wrong_acted = read_samples(reader, samples)
    assert wrong_acted == []
    assert exact == len(samples)


def test_a_two_line_plate_with_a_short_first_row() -> None:
    # A square plate's first row of two narrow digits is too short to be a plate by
    # itself; read only with the row under it. Before, the bottom row alone (NXM2,
    # a German format) was acted on in 3 of these 8 frames.
    face = render.find_font(["LiberationSansNarrow-Regular.ttf"])
    assert face is not None, "fonts-liberation is missing: run scripts/setup.sh dev"
    reader = PlateReader(ReaderSettings(region="eu"))
    style = render.Style(colours="yellow", font=face, two_line_split=2, band="D", stars=True)
    plate = render.render_plate("31NXM2", style)
    samples = []
    for seed in range(8):
        rng = random.Random(seed)
        faults = render.FAULT_MIX[seed % 3]
        samples.append(
            render.compose(
                plate, "31NXM2", rng=rng, plate_width=rng.randint(150, 260), faults=faults
            )
        )
    exact, _, wrong_acted = read_samples(reader, samples)
    assert wrong_acted == []
    assert exact >= 7


def test_a_character_the_recogniser_skipped_is_not_acted_on() -> None:
    # The dressed frames once acted on wrongly: AGE2154 in a monospaced face read
    # AE2154, a 6-character US plate by one swap (AEZ154, acted on at 0.95); the gap
    # where the G stands is seen, so the short read is not acted on, and the full
    # pass reads the plate. And 31NXM2 on two lines, read NXM2 from its bottom row.
    assert render.find_font(["LiberationMono-Bold.ttf"]) is not None, (
        "fonts-liberation is missing: run scripts/setup.sh dev"
    )
    wanted = {("us", 6): "us", ("eu", 9): "eu"}
    for region, i, s in render.mixed_set(11, 20, dressed=True):
        if (region, i) in wanted:
            readings = PlateReader(ReaderSettings(region=wanted[region, i])).read(s.frame)
            assert [
                r.text for r in readings if r.actionable(ACT_THRESHOLD) and r.text != s.text
            ] == []
            reading, _ = pick(readings, s.box)
            assert reading is not None
            assert reading.text == s.text


def test_ink_alone_in_a_gap_is_a_skipped_character() -> None:
    from lpr.line_marks import ink_between, wide_gaps
    from lpr.recognise import LineRead

    # Five places read at 0.1, 0.25, 0.55, 0.7, 0.85: a gap of two pitches between
    # the second and the third.
    centres = (0.1, 0.25, 0.55, 0.7, 0.85)
    read = LineRead(
        tuple({"A": 0.9} for _ in centres), tuple((c - 0.01, c + 0.01) for c in centres)
    )
    gaps = wide_gaps(read)
    assert gaps == [(0.25, 0.55)]
    crop = np.full((40, 200, 3), 230, np.uint8)
    for c in centres:
        crop[8:32, round(c * 200) - 8 : round(c * 200) + 8] = 20
    assert not ink_between(crop, gaps[0])  # a space
    crop[19:22, 74:86] = 20  # a hyphen
    assert not ink_between(crop, gaps[0])
    crop[8:32, 74:86] = 20  # a character the recogniser skipped
    assert ink_between(crop, gaps[0])
    even = LineRead(
        read.positions, tuple((c - 0.01, c + 0.01) for c in (0.1, 0.25, 0.4, 0.55, 0.7))
    )
    assert wide_gaps(even) == []


def test_a_chinese_zero_read_as_o_is_swapped_not_dropped() -> None:
    # Mainland plates never use O or I, but the recogniser reads a 0 as O; kept for
    # the fit to swap, not taken for a separator (粤B0 over 77780 had been read
    # 粤B77780 at 1.0, a valid seven-character plate: acted on wrongly).
    reader = PlateReader(ReaderSettings(region="cn"))
    samples = []
    for n, text in enumerate(("粤B077780", "京A012345", "苏E0D1234", "浙C055501")):
        rng = random.Random(n)
        plate = render.render_plate(text, render.Style(colours="blue", two_line_split=3))
        samples.append(render.compose(plate, text, rng=rng, plate_width=rng.randint(130, 170)))
    exact, _, wrong_acted = read_samples(reader, samples)
    assert wrong_acted == []
    assert exact == len(samples)


def test_a_widened_crop_that_fits_only_a_catch_all_is_not_acted_on() -> None:
    # Dressed frames once acted on wrongly, the boxed line reading as no plate and the
    # widened crop as a catch-all: 129IIB with a validation sticker's 8 beside the B
    # (12911B8, "other US", 0.91), and 湘Y345002 under glare without its province
    # character (Y345002, "other European", with no region configured). The second
    # reads whole on a closer look.
    wanted = {(707, "us", 17): ("us", False), (202, "cn", 3): ("any", True)}
    for seed in sorted({seed for seed, _, _ in wanted}):
        for region, i, s in render.mixed_set(seed, 20, dressed=True):
            if (seed, region, i) not in wanted:
                continue
            configured, whole = wanted[seed, region, i]
            readings = PlateReader(ReaderSettings(region=configured)).read(s.frame)
            assert [
                r.text for r in readings if r.actionable(ACT_THRESHOLD) and r.text != s.text
            ] == []
            if whole:
                reading, _ = pick(readings, s.box)
                assert reading is not None
                assert (reading.text, reading.actionable(ACT_THRESHOLD)) == (s.text, True)


def test_a_two_line_row_whose_box_clipped_a_character_is_read_whole() -> None:
    # JS9 over 6417 (a US square plate, dressed): the bottom row's box cut the 6 off,
    # and with no region configured JS9417 fitted a German format and was acted on.
    # The row's widened crop reads 6417, and the rows read as the plate.
    for region, i, s in render.mixed_set(707, 20, dressed=True):
        if (region, i) == ("us", 4):
            for configured in ("any", "us"):
                readings = PlateReader(ReaderSettings(region=configured)).read(s.frame)
                reading, _ = pick(readings, s.box)
                assert reading is not None
                assert (reading.text, reading.actionable(ACT_THRESHOLD)) == (s.text, True)
            break
    else:
        raise AssertionError("the draw has no us4")


def test_a_cameras_burnt_in_time_and_name_are_never_acted_on(reader: PlateReader) -> None:
    """A camera's name under its clock fits plate formats (German CAM14, GATEIN3), and
    the time with its PM a catch-all (103003PM): neither is a plate."""
    names_read: list[str] = []
    for region in render.MIXED_REGIONS:
        for k in range(4):
            sample = render.sample(region, random.Random(f"overlay:{region}:{k}"))
            stamp, name = render.camera_overlay(sample.frame, f"{region}:{k}")
            readings = reader.read(sample.frame)
            wrong = [
                r.text for r in readings if r.actionable(ACT_THRESHOLD) and r.text != sample.text
            ]
            assert not wrong, (sample.text, stamp, name, wrong)
            time_of_day = next(part for part in stamp.split() if ":" in part)
            clock = time_of_day.replace(":", "")
            assert not any(clock in r.text for r in readings), (stamp, readings)
            spelt = "".join(ch for ch in name if ch.isalnum())
            names_read += [r.text for r in readings if r.text == spelt]
            assert any(r.box.iou(sample.box) > 0.2 for r in readings), "the plate is still found"
    # The names were seen and read, and held: the rule, not a blind spot, keeps them out.
    assert len(names_read) >= 3, names_read
