"""Appearance features of crops: L2-normalised encoder outputs (``embed_crops``), and the encoder
weights of a remots training checkpoint (``load_module_weights``). The embed stage
(``remots.stages.embed``) runs them over every detection of a sequence."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from remots.errors import ConfigError
from remots.models.checkpoints import load_checkpoint
from remots.models.components.backbone import ReIDEncoder, to_images

log = logging.getLogger(__name__)

PHASES = ("untrained", "intra", "inter")


PRECISIONS = {"auto": None, "fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def forward_settings(
    model: ReIDEncoder, device: torch.device, precision: str = "auto"
) -> tuple[ReIDEncoder, torch.dtype | None, bool]:
    """How ``embed_crops`` runs the encoder on ``device``: the model moved there in eval mode,
    the autocast dtype (None: float32) and whether inputs are channels-last. ``auto`` is fp16
    autocast and channels-last on CUDA, float32 as it is on the CPU (bf16 on a CPU with
    AVX512-BF16 is about twice as fast, but changes the features' bytes: ask for it)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
    cuda = device.type == "cuda"
    dtype = torch.float16 if precision == "auto" and cuda else PRECISIONS[precision]
    model = model.to(device).eval()
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    return model, dtype, cuda


def encoder_input(crops: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 ``(B, H, W, 3)`` crops already on the device -> the float ``(B, 3, H, W)`` batch
    ``embed_crops`` gives the encoder: channels-last contiguous when ``channels_last`` (CUDA),
    otherwise the permuted view of the crops (``to_images``). That view has channels-last
    strides, which oneDNN's CPU convolutions run as channels-last: for MobileNetV2 at 128x64
    on 2 cores 1.6x faster than the same batch made NCHW-contiguous. Whoever times the encoder
    against ``embed_crops`` must feed it this batch."""
    x = to_images(crops)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def embed_crops(
    model: ReIDEncoder,
    crops: np.ndarray,
    *,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
    progress: bool = True,
    desc: str = "embed",
    precision: str = "auto",
) -> np.ndarray:
    """L2-normalised appearance features of crops.

    crops: uint8 ``(N, H, W, 3)`` RGB (a memory map is read batch by batch).
    Returns float32 ``(N, D)``, row k the feature of crop k, ||row|| = 1. Runs under
    ``torch.inference_mode`` in eval mode, as ``forward_settings`` says (on CUDA: channels-last,
    fp16 autocast). On CUDA the next batch is read into pinned memory and copied on a side
    stream while the GPU runs the current one, and the features stay on the GPU until the end:
    nothing waits for the GPU inside the loop.
    """
    device = torch.device(device)
    model, dtype, channels_last = forward_settings(model, device, precision)
    n = len(crops)
    starts = range(0, n, batch_size)
    bar = tqdm(starts, disable=not progress, desc=desc, unit="batch", leave=False)
    with torch.inference_mode():
        if device.type == "cuda":
            return _embed_cuda(model, crops, starts, batch_size, device, dtype, bar)
        out = np.empty((n, model.feature_dim), np.float32)
        for i in bar:
            x = encoder_input(
                torch.from_numpy(np.array(crops[i : i + batch_size])).to(device), channels_last
            )
            f = _embed_cpu_batch(model, x, dtype)
            out[i : i + len(x)] = F.normalize(f.float(), dim=1).cpu().numpy()
        return out


# Reduced-precision CPU batches computed again when their features are not all finite.
_CPU_RETRIES = 3


def _embed_cpu_batch(model: ReIDEncoder, x: torch.Tensor, dtype: torch.dtype | None):
    """``model.embed(x)`` under CPU autocast to ``dtype`` (None: float32).

    oneDNN's multi-threaded bf16 convolutions on CPUs with AMX (torch 2.13 on an Intel Xeon with
    ``amx_bf16``) now and then write NaN into a batch: about 1 batch in 500 of a ResNet-18 on 2
    threads, none on one thread; once, inside a long test session, one batch 4 times in a row.
    The finite results are byte-identical from run to run, so a batch with a non-finite feature
    is computed again, up to ``_CPU_RETRIES`` times, then in float32 (with a warning: that batch's
    features are float32's, not bf16's). What is still not finite is refused where the features
    are read (``run_folder.check_finite``)."""
    if dtype is None:
        return model.embed(x)
    for attempt in range(_CPU_RETRIES + 1):
        with torch.autocast("cpu", dtype=dtype):
            f = model.embed(x)
        if bool(torch.isfinite(f).all()):
            return f
        log.warning(
            "%s features of a batch not finite (attempt %d): computed again", dtype, attempt + 1
        )
    log.warning("%s features of a batch still not finite: computed in float32", dtype)
    return model.embed(x)


def _embed_cuda(model, crops, starts, batch_size, device, dtype, bar) -> np.ndarray:
    """``embed_crops`` on CUDA: two pinned host buffers filled in turn, each batch's copy on a
    side stream overlapping the previous batch's forward pass."""
    n = len(crops)
    pinned = [
        torch.empty((min(batch_size, n), *crops.shape[1:]), dtype=torch.uint8).pin_memory()
        for _ in range(2)
    ]
    copied = [None, None]  # the event after each buffer's last copy to the GPU
    copy_stream = torch.cuda.Stream(device)
    out = torch.empty((n, model.feature_dim), dtype=torch.float32, device=device)

    def send(k: int, i: int):
        slot = k % 2
        if copied[slot] is not None:
            copied[slot].synchronize()  # the copy that read this buffer is done
        m = min(batch_size, n - i)
        pinned[slot][:m].numpy()[...] = crops[i : i + m]
        with torch.cuda.stream(copy_stream):
            x = pinned[slot][:m].to(device, non_blocking=True)
            copied[slot] = torch.cuda.Event()
            copied[slot].record(copy_stream)
        return x, copied[slot]

    starts = list(starts)
    pending = send(0, starts[0]) if starts else None
    stream = torch.cuda.current_stream(device)
    for k, i in enumerate(bar):
        x, ready = pending
        stream.wait_event(ready)
        x.record_stream(stream)
        x = encoder_input(x, channels_last=True)
        with torch.autocast("cuda", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            f = model.embed(x)
        out[i : i + len(x)] = F.normalize(f.float(), dim=1)
        if k + 1 < len(starts):  # read the next batch while the GPU runs this one
            pending = send(k + 1, starts[k + 1])
    return out.cpu().numpy()


def load_module_weights(net: ReIDEncoder, path: str | Path, *, with_classifier: bool = False):
    """Load the encoder weights of a remots training checkpoint (``checkpoints/<phase>.ckpt``).

    The identity classifier is left out unless ``with_classifier`` (it depends on the training
    set, not needed to embed). The file is loaded weights-only (``models.checkpoints``). Raises
    ConfigError naming the file when it is missing or made for another backbone, InputError when
    it is corrupt or holds pickled objects.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: encoder checkpoint not found (run its training stage first)")
    state = load_checkpoint(path)["state_dict"]  # weights-only: nothing in it can run code
    state = {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    if not with_classifier or net.classifier is None:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    try:
        net.load_state_dict(state, strict=net.classifier is None or with_classifier)
    except RuntimeError as err:
        first = " ".join(str(err).strip().splitlines()[:3])
        raise ConfigError(f"{path}: the checkpoint does not fit model.net: {first}") from None
    return net
