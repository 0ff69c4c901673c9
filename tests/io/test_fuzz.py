"""Fuzzing the MOTS readers and the RLE helpers: random input never crashes with anything but
remots' own error type, and valid random data round-trips exactly."""

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remots import masks
from remots.errors import MOTSFormatError
from remots.io import mots
from remots.io.detections import read_detections_txt
from remots.io.instances import Instance, sort_instances

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

rle_chars = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=130), max_size=40)


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_give_only_format_errors(tmp_path, data):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    for reader in (
        lambda: mots.read_mots_txt(path, frame_base=1, num_frames=5),
        lambda: read_detections_txt(path, frame_base=1, num_frames=5),
    ):
        try:
            reader()
        except MOTSFormatError:
            pass


line_fields = st.tuples(
    st.integers(-2, 7),
    st.integers(-5, 12000),
    st.sampled_from([1, 2, 3, 10]),
    st.integers(-1, 9),
    st.integers(-1, 9),
    rle_chars,
)


@FUZZ
@given(lines=st.lists(line_fields, max_size=6))
def test_valid_looking_lines_give_only_format_errors(tmp_path, lines):
    path = tmp_path / "fuzz.txt"
    path.write_text("".join(" ".join(map(str, f)) + "\n" for f in lines))
    try:
        mots.read_mots_txt(path, frame_base=1, num_frames=5)
    except MOTSFormatError:
        pass


@FUZZ
@given(counts=rle_chars, h=st.integers(0, 30), w=st.integers(0, 30))
def test_rle_from_string_rejects_or_decodes(counts, h, w):
    try:
        rle = masks.rle_from_string(counts, h, w)
    except (ValueError, UnicodeError):
        return
    dense = masks.decode_one(rle)  # only validated strings reach pycocotools
    assert dense.shape == (h, w)
    assert masks.rle_counts(counts).sum() == h * w


@st.composite
def frames_of_masks(draw):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    num_frames = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    instances = []
    for t in range(num_frames):
        labels = rng.integers(0, 4, size=(h, w))  # exclusive masks: one label per pixel
        for k in range(1, 4):
            m = labels == k
            if m.any() and rng.random() < 0.8:
                cls = int(rng.choice([1, 2]))
                instances.append(Instance(t, cls * 1000 + k, cls, masks.encode(m)[0]))
    return h, w, num_frames, instances


@FUZZ
@given(sample=frames_of_masks(), frame_base=st.sampled_from([0, 1]))
def test_valid_random_data_round_trips_txt_and_png(tmp_path, sample, frame_base):
    h, w, n, instances = sample
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    txt = tmp_path / "a.txt"
    mots.write_mots_txt(txt, instances, frame_base=frame_base)
    back = mots.read_mots_txt(txt, frame_base=frame_base, num_frames=n, image_size=(h, w))
    assert [(i.frame, i.obj_id, i.class_id, i.rle) for i in back] == [
        (i.frame, i.obj_id, i.class_id, i.rle) for i in instances
    ]
    png_dir = tmp_path / f"png{frame_base}"
    mots.write_mots_png_dir(
        png_dir, instances, num_frames=n, height=h, width=w, frame_base=frame_base
    )
    from_png = mots.read_mots_png_dir(png_dir, frame_base=frame_base, num_frames=n)
    assert [(i.frame, i.obj_id, i.rle) for i in from_png] == [
        (i.frame, i.obj_id, i.rle) for i in sort_instances(instances)
    ]


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 40), w=st.integers(1, 40))
def test_rle_counts_agree_with_pycocotools(seed, h, w):
    m = np.random.default_rng(seed).random((h, w)) < 0.5
    rle = masks.encode(m)[0]
    runs = masks.rle_counts(masks.rle_to_string(rle))
    assert runs.sum() == h * w
    np.testing.assert_array_equal(np.repeat(np.arange(len(runs)) % 2, runs).reshape(w, h).T, m)
    np.testing.assert_array_equal(
        masks.decode_one(masks.rle_from_string(masks.rle_to_string(rle), h, w)), m
    )
