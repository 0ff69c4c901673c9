"""Hypothesis fuzzing of the detection readers (COCO-results JSON, TrackR-CNN txt, MOTChallenge
CSV), run by ``test_fuzz_bounded.py`` in a child process whose address space is capped (so a
reader that sizes memory by its input fails with MemoryError, not with the machine's OOM
killer). Every input must give detections or an ``InputError``, nothing else.

Not collected on its own (the name does not start with ``test_``).
"""

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remots.errors import InputError
from remots.io.detections import read_coco_results, read_detections_txt, read_mot_csv

EXAMPLES = int(os.environ.get("REMOTS_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
H, W = 30, 40

numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2, 3, 1.7, -1, 1e12, float("nan"), 10**23]),
)
junk = st.one_of(numbers, st.text(max_size=12), st.none(), st.booleans())
rle_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=130), max_size=30)
polygon = st.lists(numbers, max_size=14)
segmentation = st.one_of(
    st.fixed_dictionaries(
        {
            "size": st.one_of(st.just([H, W]), st.lists(junk, max_size=3)),
            "counts": st.one_of(rle_text, st.lists(st.integers(-5, 2000), max_size=8), junk),
        }
    ),
    st.lists(st.one_of(polygon, junk), max_size=3),
    junk,
)
record = st.dictionaries(
    st.sampled_from(["image_id", "category_id", "score", "segmentation", "bbox"]),
    st.one_of(junk, segmentation, st.lists(numbers, max_size=5)),
    max_size=5,
)
full_record = st.fixed_dictionaries(
    {
        "image_id": st.one_of(st.integers(-2, 6), junk),
        "category_id": st.sampled_from([1, 2, 3, 18]),
        "score": st.one_of(st.floats(0, 1), junk),
    },
    optional={"segmentation": segmentation, "bbox": st.lists(numbers, max_size=5)},
)


def write(data: bytes | str) -> Path:
    fd, name = tempfile.mkstemp(dir=os.environ.get("REMOTS_FUZZ_DIR"))
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return Path(name)


def only_input_errors(read, path: Path) -> None:
    try:
        result = read(path)
    except InputError as err:
        assert "\n" not in str(err)
    else:
        assert isinstance(result, list)
    finally:
        path.unlink()


@FUZZ
@given(records=st.lists(st.one_of(full_record, record, junk), max_size=6))
def test_coco_records(records):
    text = json.dumps(records, allow_nan=True, default=str)
    only_input_errors(lambda p: read_coco_results(p, image_size=(H, W), num_frames=5), write(text))


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_coco_bytes(data):
    only_input_errors(lambda p: read_coco_results(p, image_size=(H, W)), write(data))


trackrcnn_line = st.tuples(
    st.one_of(st.integers(-2, 8), st.integers(10**6, 10**30)),
    *[st.one_of(st.floats(allow_nan=True), st.integers(-50, 50))] * 5,
    st.sampled_from([1, 2, 3, 10]),
    st.one_of(st.just(H), st.integers(-1, 10**7)),
    st.one_of(st.just(W), st.integers(-1, 10**7)),
    rle_text,
)


@FUZZ
@given(lines=st.lists(trackrcnn_line, max_size=6), num_frames=st.sampled_from([None, 5]))
def test_trackrcnn_lines(lines, num_frames):
    text = "".join(" ".join(map(str, fields)) + "\n" for fields in lines)
    only_input_errors(
        lambda p: read_detections_txt(p, frame_base=1, num_frames=num_frames), write(text)
    )


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_trackrcnn_bytes(data):
    only_input_errors(lambda p: read_detections_txt(p, frame_base=1), write(data))


mot_line = st.lists(
    st.one_of(
        numbers.map(lambda v: repr(v) if isinstance(v, float) else str(v)), st.text(max_size=4)
    ),
    min_size=5,
    max_size=11,
)


@FUZZ
@given(lines=st.lists(mot_line, max_size=6))
def test_mot_csv_lines(lines):
    text = "".join(",".join(fields) + "\n" for fields in lines)
    only_input_errors(lambda p: read_mot_csv(p, image_size=(H, W)), write(text))


coordinates = st.one_of(
    st.floats(-100, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), 1e12, -1e12, 5]),
)


@FUZZ
@given(
    polygons=st.lists(
        st.one_of(
            st.lists(coordinates, min_size=3, max_size=8).map(lambda xs: xs + xs[:2]),
            st.lists(coordinates, min_size=6, max_size=6),
            junk,
            st.just("abcdefgh"),
        ),
        min_size=1,
        max_size=3,
    ),
    boxes=st.lists(coordinates, min_size=4, max_size=4),
)
def test_coco_polygons_and_boxes(polygons, boxes):
    """Records valid but for their polygons or box: what pycocotools' rasteriser is fed."""
    records = [
        {"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": polygons},
        {"image_id": 2, "category_id": 3, "score": 0.5, "bbox": boxes},
    ]
    text = json.dumps(records, allow_nan=True)
    only_input_errors(lambda p: read_coco_results(p, image_size=(H, W), num_frames=5), write(text))
