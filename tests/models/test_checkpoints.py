"""Checkpoints load weights-only: a planted pickle is refused (its code never runs), a damaged
file is named, and the hyper-parameters a checkpoint holds are plain values."""

import functools

import pytest
import torch

from remots.errors import ConfigError, InputError
from remots.models.checkpoints import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    load_checkpoint,
    plain_hyperparameters,
)
from remots.models.components.backbone import ReIDEncoder
from remots.models.embedding import load_module_weights


class Planted:
    """Unpickling this object opens (creates) ``path``: code run by a checkpoint."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def plant(path, marker, legacy=False):
    extra = functools.partial(torch.optim.Adam, lr=0.1) if legacy else Planted(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {"net.x": torch.zeros(2)}, "hyper_parameters": {"o": extra}}, path)
    return path


def one_line(err) -> str:
    text = str(err)
    assert "\n" not in text
    return text


def test_a_planted_pickle_in_the_encoder_checkpoint_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "marker"
    path = plant(tmp_path / "intra.ckpt", marker)
    net = ReIDEncoder(backbone="resnet18")
    with pytest.raises(UnsafeCheckpointError) as info:
        load_module_weights(net, path)
    text = one_line(info.value)
    assert text.startswith(f"{path}: refused: it holds a pickled Python object (io.open)")
    assert not marker.exists()
    assert isinstance(info.value, ConfigError) and isinstance(info.value, InputError)


def test_a_checkpoint_of_an_older_remots_is_named_as_such(tmp_path):
    path = plant(tmp_path / "inter.ckpt", None, legacy=True)
    with pytest.raises(UnsafeCheckpointError, match="older remots") as info:
        load_checkpoint(path)
    assert info.value.legacy and info.value.global_name == "functools.partial"
    assert one_line(info.value).startswith(str(path))


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00garbage", "truncated"],
    ids=["empty", "garbage", "truncated"],
)
def test_a_damaged_checkpoint_is_one_line_naming_it(tmp_path, content):
    path = tmp_path / "intra.ckpt"
    if content == "truncated":
        torch.save({"state_dict": {"w": torch.arange(10000.0)}}, path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path)
    assert one_line(info.value).startswith(f"{path}: not a readable checkpoint")


def test_a_file_without_weights_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.ckpt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CorruptCheckpointError, match="no state_dict"):
        load_checkpoint(path)


def test_hyperparameters_become_plain_values():
    partial = functools.partial(torch.optim.Adam, lr=0.1, betas=(0.9, 0.99))
    plain = plain_hyperparameters(
        {"optimizer": partial, "scheduler": None, "margin": 0.3, "sizes": (1, 2), "obj": object()}
    )
    assert plain == {
        "optimizer": {"_target_": "torch.optim.adam.Adam", "lr": 0.1, "betas": [0.9, 0.99]},
        "scheduler": None,
        "margin": 0.3,
        "sizes": [1, 2],
        "obj": "builtins.object",
    }
