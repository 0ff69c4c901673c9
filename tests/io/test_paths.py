"""Sequence names and path templates cannot reach outside the run folder or the data root."""

import pytest

from remots.config import check_template
from remots.errors import ConfigError, InputError
from remots.io.layouts import read_seqmap
from remots.io.run_folder import RunFolder


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", "a\\b", "x\0y"])
def test_run_folder_paths_refuse_a_name_that_is_a_path(tmp_path, name):
    run = RunFolder(tmp_path)
    for method in (run.detections, run.crops, run.results, run.merge_record, run.short_meta):
        with pytest.raises(InputError, match="not a plain name"):
            method(name)
    with pytest.raises(InputError, match="not a plain name"):
        run.features("intra", name)
    with pytest.raises(InputError, match="not a plain name"):
        run.checkpoint("../intra")


def test_plain_names_stay_inside_the_run_folder(tmp_path):
    run = RunFolder(tmp_path)
    for path in (run.detections("MOTS20-02"), run.crops("train-0001"), run.features("inter", "s")):
        assert path.resolve().is_relative_to(tmp_path.resolve())


@pytest.mark.parametrize("name", ["../../outside", "a/b", "..", "x\\y"])
def test_a_seqmap_line_naming_a_path_is_refused_by_line(tmp_path, name):
    path = tmp_path / "t.seqmap"
    path.write_text(f"0000 empty 0 3\n{name} empty 0 3\n")
    with pytest.raises(InputError, match="is a path, not a folder name") as info:
        read_seqmap(path)
    assert info.value.line == 2 and info.value.path == str(path)


@pytest.mark.parametrize(
    "template,fragment",
    [
        ("{", "Single '{'"),
        ("}", "Single '}'"),
        ("{frame}.txt", "not {frame}"),
        ("{0}.txt", "not {0}"),
        ("{seq!r}.txt", "only placeholders"),
        ("{seq:>5}.txt", "only placeholders"),
    ],
)
def test_a_bad_detections_template_names_the_key(template, fragment):
    with pytest.raises(ConfigError, match=r"detector\.members\[1\]\.path") as info:
        check_template("detector.members[1].path", template)
    assert fragment in str(info.value)


def test_good_templates_pass():
    assert check_template("k", "{seq_dir}/det/{seq}.txt") == ["seq_dir", "seq"]
    assert check_template("k", "/results/{{literal}}/{seq}.txt") == ["seq"]
