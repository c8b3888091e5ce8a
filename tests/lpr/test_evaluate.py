"""Labelled evaluation sets as people lay them out: label lines, odd files, several plates."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lpr import render
from lpr.cli import main
from lpr.errors import LabelError
from lpr.evaluate import Sample, parse_label, scan
from lpr.types import Box


def image(path: Path) -> Path:
    cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    return path


def label(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_tab_and_space_separated_lines_and_plates_with_separators(tmp_path: Path) -> None:
    car = image(tmp_path / "car.jpg")
    assert parse_label(label(tmp_path / "a.txt", "car.jpg\t10\t20\t30\t40\tAB-123-CD\n")) == [
        Sample(car, Box(10, 20, 30, 40), "AB123CD")
    ]
    # Space-separated, the plate is the rest of the line: its own spaces are kept out.
    assert parse_label(label(tmp_path / "b.txt", "car.jpg 10 20 30.6 40 AB 123 CD")) == [
        Sample(car, Box(10, 20, 30, 40), "AB123CD")
    ]
    # Tab-separated, a column after the plate is not part of it.
    assert parse_label(label(tmp_path / "c.txt", "car.jpg\t1\t2\t3\t4\t京A·12345\tday\n")) == [
        Sample(car, Box(1, 2, 3, 4), "京A12345")
    ]


def test_a_file_of_several_plates_comments_and_a_byte_order_mark(tmp_path: Path) -> None:
    image(tmp_path / "two.png")
    path = tmp_path / "two.txt"
    path.write_text(
        "# two cars in the lane\n\ntwo.png\t0\t0\t5\t5\tABC1234\ntwo.png\t9\t9\t5\t5\tXYZ9876\n",
        encoding="utf-8-sig",
    )
    assert [s.plate for s in parse_label(path)] == ["ABC1234", "XYZ9876"]


def test_a_line_without_the_file_name_or_naming_another_suffix_finds_the_image_beside_it(
    tmp_path: Path,
) -> None:
    jpeg = image(tmp_path / "car.jpeg")
    (nameless,) = parse_label(label(tmp_path / "car.txt", "10 20 30 40 AB 123 CD\n"))
    assert nameless == Sample(jpeg, Box(10, 20, 30, 40), "AB123CD")
    (renamed,) = parse_label(label(tmp_path / "car.txt", "car.jpg\t1\t2\t3\t4\tABC1234\n"))
    assert renamed.image == jpeg


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "no label line"),
        ("# only a comment\n", "no label line"),
        ("car.jpg\t1\t2\t3\n", ":1: expected 'file x y w h PLATE'"),
        ("car.jpg\t1\ttwo\t3\t4\tABC1234\n", ":1: expected"),
        ("car.jpg\t1\t2\t3\t4\t--\n", ":1: the plate is empty"),
        ("car.jpg 1 2 3 4 ABC1234\ncar.jpg nan 2 3 4 ABC\n", ":2: expected"),
    ],
)
def test_a_bad_label_says_which_file_and_line(tmp_path: Path, text: str, why: str) -> None:
    path = label(tmp_path / "bad.txt", text)
    with pytest.raises(LabelError, match=why) as caught:
        parse_label(path)
    assert str(path) in str(caught.value)


def test_an_unreadable_label_is_a_label_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"car.jpg 1 2 3 4 \xff\xfe\xe9\n")
    with pytest.raises(LabelError, match="cannot read"):
        parse_label(path)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200))
def test_any_label_file_parses_or_is_a_label_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_bytes(content)
    try:
        samples = parse_label(path)
    except LabelError:
        return
    assert samples
    assert all(s.plate and s.plate.isalnum() for s in samples)


def test_scan_keeps_the_good_labels_and_says_why_it_skipped_the_rest(tmp_path: Path) -> None:
    image(tmp_path / "good.jpg")
    label(tmp_path / "good.txt", "good.jpg\t1\t2\t3\t4\tABC1234\n")
    label(tmp_path / "README.txt", "Photos of cars at the gate, taken in 2026.\n")
    label(tmp_path / "orphan.txt", "orphan.jpg\t1\t2\t3\t4\tABC1234\n")
    label(tmp_path / "notes.txt", "notes.csv\t1\t2\t3\t4\tABC1234\n")
    (tmp_path / "lane2").mkdir()
    image(tmp_path / "lane2" / "deep.jpg")
    label(tmp_path / "lane2" / "deep.txt", "deep.jpg\t1\t2\t3\t4\tXYZ9876\n")
    found = scan(tmp_path)
    assert [s.plate for s in found.samples] == ["ABC1234", "XYZ9876"]
    why = {path.name: reason for path, reason in found.skipped}
    assert set(why) == {"README.txt", "orphan.txt", "notes.txt"}
    assert "expected 'file x y w h PLATE'" in why["README.txt"]
    assert why["orphan.txt"] == "no image orphan.jpg beside it"
    assert why["notes.txt"] == "notes.csv is not an image file"


def test_eval_scores_two_plates_in_one_photo_and_skips_what_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(31)
    left, right = render.sample("br", rng), render.sample("br", rng)
    cv2.imwrite(str(tmp_path / "lane.jpg"), np.hstack([left.frame, right.frame]))
    width = left.frame.shape[1]
    b, c = left.box, right.box
    label(
        tmp_path / "lane.txt",
        f"lane.jpg\t{b.x}\t{b.y}\t{b.w}\t{b.h}\t{left.text}\n"
        f"lane.jpg\t{c.x + width}\t{c.y}\t{c.w}\t{c.h}\t{right.text}\n",
    )
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    label(tmp_path / "broken.txt", "broken.jpg\t1\t2\t3\t4\tABC1234\n")
    label(tmp_path / "README.txt", "two cars, one photo\n")
    assert main(["eval", str(tmp_path), "--region", "br"]) == 0
    out, err = capsys.readouterr()
    assert "images                          1\n" in out
    assert "labelled plates                 2\n" in out
    assert "exact match                     100.0%" in out
    assert "detection rate                  100.0%" in out
    assert "not scored: 1 label line(s) or file(s) unusable, 1 image(s) undecodable" in out
    assert "README.txt" in err
    assert "cannot decode" in err
    assert "broken.jpg" in err


def test_eval_of_a_folder_without_labels_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image(tmp_path / "unlabelled.jpg")
    assert main(["eval", str(tmp_path)]) == 1
    assert "each image needs a .txt beside it" in capsys.readouterr().err
