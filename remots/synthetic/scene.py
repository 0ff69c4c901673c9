"""The scene of one synthetic sequence: the hall, its clutter and pillars, the walkers' looks
and trajectories, the camera pan and the lighting."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from remots.synthetic.params import SyntheticParams

log = logging.getLogger(__name__)

# BGR colours. Shirts are drawn from a few of these per sequence so that identities share them.
SHIRT_COLOURS = np.array(
    [
        [40, 40, 200],
        [200, 80, 30],
        [40, 160, 40],
        [30, 200, 220],
        [230, 230, 230],
        [35, 35, 35],
        [30, 120, 240],
        [150, 40, 130],
        [140, 140, 140],
        [150, 150, 20],
    ],
    np.float64,
)


TROUSER_COLOURS = np.array(
    [
        [110, 60, 30],
        [25, 25, 25],
        [140, 180, 200],
        [100, 100, 100],
        [30, 50, 80],
        [50, 100, 90],
        [200, 200, 200],
        [40, 30, 120],
        [90, 40, 60],
        [60, 60, 150],
    ],
    np.float64,
)


SKIN_COLOURS = np.array([[150, 180, 230], [110, 150, 200], [70, 110, 160], [45, 75, 115]], float)


HAIR_COLOURS = np.array([[20, 20, 25], [30, 60, 100], [60, 120, 170], [150, 150, 150]], float)


PATTERNS = ("plain", "h_stripes", "v_stripes", "patch")


NOISE_MARGIN = 64


@dataclass(frozen=True)
class Identity:
    """The persistent appearance of one walker."""

    shirt: tuple
    shirt_index: int
    trousers: tuple
    pattern: str
    pattern_colour: tuple
    stripe_period: float  # fraction of body height
    long_sleeves: bool
    bag_colour: tuple | None
    skin: tuple
    hair: tuple
    shoes: tuple
    size: float  # body height factor


@dataclass(frozen=True)
class Walk:
    """A walker's trajectory in world coordinates, one entry per frame."""

    x: np.ndarray  # (T,) float, foot centre in world pixels
    foot_y: np.ndarray  # (T,) float, foot line in image rows (depth: larger is nearer)
    height: np.ndarray  # (T,) int, body height in pixels
    facing: np.ndarray  # (T,) int, +1 walking right, -1 walking left
    phase: np.ndarray  # (T,) float, gait phase in radians
    speed: float


@dataclass(frozen=True)
class Clutter:
    """A background object (plant, bin, poster) in world coordinates; where false positives fire."""

    x0: int
    y0: int
    mask: np.ndarray  # (h, w) bool


@dataclass(frozen=True)
class Scene:
    background: np.ndarray  # (H, W_world, 3) uint8, clutter drawn in
    lamp: np.ndarray  # (W_world,) float32 brightness factor along x
    pillar_columns: np.ndarray  # (W_world,) bool, columns covered by a foreground pillar
    pillar_image: np.ndarray  # (H, W_world, 3) uint8
    clutter: list[Clutter]
    cam_x: np.ndarray  # (T,) int, left image column in world coordinates
    identities: list[Identity]
    walks: list[Walk]
    gain: np.ndarray  # (T,) float, global lighting gain per frame
    noise: np.ndarray  # (H + NOISE_MARGIN, W + NOISE_MARGIN, 3) float32 pixel noise bank


def make_scene(params: SyntheticParams, key: list[int]) -> Scene:
    T, H, W = params.num_frames, params.height, params.width
    world_rng = np.random.default_rng([*key, 0])
    motion_rng = np.random.default_rng([*key, 1])
    look_rng = np.random.default_rng([*key, 2])
    light_rng = np.random.default_rng([*key, 3])
    pan = params.pan_px
    world_w = W + pan
    # Camera: an eased pan across the world, left-to-right or right-to-left.
    ease = 0.5 - 0.5 * np.cos(np.pi * np.arange(T) / max(T - 1, 1))
    if world_rng.random() < 0.5:
        ease = 1.0 - ease
    cam_x = np.round(pan * ease).astype(np.int64)
    background, clutter = _make_background(world_rng, H, world_w, params.num_clutter)
    palette = look_rng.permutation(len(SHIRT_COLOURS))[: params.num_shirt_colours]
    identities = [_make_identity(look_rng, params, palette) for _ in range(params.num_objects)]
    walks = [_make_walk(motion_rng, params, cam_x, ident) for ident in identities]
    pillar_columns, pillar_image = _make_pillars(world_rng, params, walks, cam_x, world_w)
    lamp_period = world_rng.uniform(0.6, 1.2) * W
    lamp = 1.0 + 0.18 * np.sin(
        2 * np.pi * np.arange(world_w) / lamp_period + world_rng.uniform(0, 2 * np.pi)
    )
    # Global gain: a smooth random walk around 1 (clouds, auto exposure).
    gain = np.empty(T)
    g = 0.0
    for t in range(T):
        g = 0.8 * g + light_rng.normal(0.0, params.lighting_noise)
        gain[t] = 1.0 + g
    # Pixel noise: a random window of one bank per sequence (drawing H x W x 3 normals per frame
    # would take most of the generation time).
    noise = light_rng.standard_normal((H + NOISE_MARGIN, W + NOISE_MARGIN, 3), dtype=np.float32)
    noise *= np.float32(params.pixel_noise)
    return Scene(
        background=background,
        lamp=lamp.astype(np.float32),
        pillar_columns=pillar_columns,
        pillar_image=pillar_image,
        clutter=clutter,
        cam_x=cam_x,
        identities=identities,
        walks=walks,
        gain=gain,
        noise=noise,
    )


def _make_background(rng: np.random.Generator, H: int, world_w: int, num_clutter: int):
    """A wall over a floor with low-frequency texture, panels, tiles and clutter objects."""
    horizon = int(0.45 * H)
    wall = rng.uniform(90, 190, 3)
    floor = rng.uniform(60, 150, 3)
    img = np.empty((H, world_w, 3), np.float32)
    img[:horizon] = wall
    img[horizon:] = floor
    # Floor darker towards the camera, wall panels and floor tiles.
    rows = np.arange(H, dtype=np.float32)[:, None, None]
    img[horizon:] *= 1.0 - 0.25 * (rows[horizon:] - horizon) / max(H - horizon, 1)
    panel = max(int(rng.uniform(0.12, 0.25) * H), 8)
    cols = np.arange(world_w)
    img[:horizon, cols % panel < 2] *= 0.75
    tile = max(int(rng.uniform(0.08, 0.15) * H), 6)
    img[horizon:][(np.arange(H - horizon) % tile) < 1] *= 0.8
    # Low-frequency stains: mostly brightness, a little colour.
    low = rng.normal(0.0, 1.0, (max(H // 24, 2), max(world_w // 24, 2), 4)).astype(np.float32)
    low = cv2.resize(low, (world_w, H), interpolation=cv2.INTER_CUBIC)
    img += 16.0 * low[:, :, :1] + 5.0 * low[:, :, 1:]
    img += rng.normal(0.0, 5.0, (H, world_w, 1)).astype(np.float32)
    clutter = []
    for _ in range(num_clutter):
        ch = int(rng.uniform(0.12, 0.38) * H)
        cw = max(int(ch * rng.uniform(0.25, 0.7)), 6)
        on_floor = rng.random() < 0.6
        if on_floor:
            base = int(rng.uniform(horizon + 0.08 * H, 0.8 * H))
            y0 = max(base - ch, 0)
        else:
            y0 = int(rng.uniform(0.05 * H, max(horizon - ch, 0.05 * H + 1)))
        x0 = int(rng.uniform(0, world_w - cw))
        ch = min(ch, H - y0)
        m = np.zeros((ch, cw), np.uint8)
        if on_floor:  # a plant or a bin: stacked ellipses, person-sized
            for _ in range(int(rng.integers(1, 4))):
                cy = int(rng.uniform(0.25, 0.8) * ch)
                axes = (max(int(rng.uniform(0.25, 0.5) * cw), 2), max(int(0.25 * ch), 2))
                cv2.ellipse(m, (cw // 2, cy), axes, 0, 0, 360, 1, -1)
        else:  # a poster
            cv2.rectangle(m, (0, 0), (cw - 1, ch - 1), 1, -1)
        palette = SHIRT_COLOURS if rng.random() < 0.5 else TROUSER_COLOURS
        colour = palette[rng.integers(len(palette))] + rng.normal(0, 12, 3)
        patch = img[y0 : y0 + ch, x0 : x0 + cw]
        texture = rng.normal(0.0, 10.0, (ch, cw, 1)).astype(np.float32)
        patch[m.astype(bool)] = (colour + texture)[m.astype(bool)]
        clutter.append(Clutter(x0=x0, y0=y0, mask=m.astype(bool)))
    return np.clip(img, 0, 255).astype(np.uint8), clutter


def _jitter_colour(rng: np.random.Generator, colour: np.ndarray, amount: float = 12.0) -> tuple:
    return tuple(float(v) for v in np.clip(colour + rng.normal(0, amount, 3), 0, 255))


def _make_identity(
    rng: np.random.Generator, params: SyntheticParams, palette: np.ndarray
) -> Identity:
    """One walker's persistent appearance; the shirt colour comes from the sequence ``palette``
    (indices into SHIRT_COLOURS) so that identities share it."""
    shirt_index = int(palette[rng.integers(len(palette))])
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    return Identity(
        shirt=_jitter_colour(rng, SHIRT_COLOURS[shirt_index], 8.0),
        shirt_index=shirt_index,
        trousers=_jitter_colour(rng, TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))]),
        pattern=pattern,
        pattern_colour=_jitter_colour(rng, SHIRT_COLOURS[rng.integers(len(SHIRT_COLOURS))]),
        stripe_period=float(rng.uniform(0.035, 0.07)),
        long_sleeves=bool(rng.random() < 0.5),
        bag_colour=(
            _jitter_colour(rng, TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))])
            if rng.random() < 0.35
            else None
        ),
        skin=_jitter_colour(rng, SKIN_COLOURS[rng.integers(len(SKIN_COLOURS))], 6.0),
        hair=_jitter_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 6.0),
        shoes=_jitter_colour(rng, np.array([30.0, 30.0, 30.0]), 15.0),
        size=float(rng.uniform(1 - params.size_jitter, 1 + params.size_jitter)),
    )


def _body_height(params: SyntheticParams, foot_y: np.ndarray, size: float) -> np.ndarray:
    """Body height in pixels from the foot line (perspective: nearer is lower and larger)."""
    H = params.height
    y_far, y_near = 0.6 * H, 0.97 * H
    h_far, h_near = params.person_height
    depth = (foot_y - y_far) / (y_near - y_far)
    return np.round(size * H * (h_far + (h_near - h_far) * depth)).astype(np.int64)


def _make_walk(
    rng: np.random.Generator, params: SyntheticParams, cam_x: np.ndarray, ident: Identity
) -> Walk:
    """A walk across the hall: straight at one speed, sometimes turning, drifting in depth.

    An entering walker is just outside the left or right image border at a random frame and
    walks in; the others start inside the first frame. Leaving happens by walking out.
    """
    T, H, W = params.num_frames, params.height, params.width
    y_far, y_near = 0.6 * H, 0.97 * H
    speed = float(rng.uniform(*params.walk_speed))
    foot_y = np.empty(T)
    y, dy = rng.uniform(y_far, y_near), 0.0
    for t in range(T):
        dy = 0.9 * dy + rng.normal(0.0, 0.08)
        y += dy
        if not y_far <= y <= y_near:  # reflect at the ends of the floor
            y = float(np.clip(2 * np.clip(y, y_far, y_near) - y, y_far, y_near))
            dy = -dy
        foot_y[t] = y
    height = _body_height(params, foot_y, ident.size)
    entering = T > 4 and rng.random() < params.entry_fraction
    if entering:
        t0 = int(rng.integers(1, max(2, int(0.6 * T))))
        from_left = rng.random() < 0.5
        # Enter against the pan when walking with it would not outpace the camera.
        cam_velocity = float(cam_x[min(t0 + 1, T - 1)] - cam_x[t0 - 1]) / 2
        inward = speed - cam_velocity if from_left else speed + cam_velocity
        if inward < 0.5 * speed:
            from_left = not from_left
        margin = 0.3 * height[t0] + 2
        x0 = cam_x[t0] - margin if from_left else cam_x[t0] + W + margin
        direction = 1 if from_left else -1
    else:
        t0 = 0
        x0 = cam_x[0] + rng.uniform(0.08, 0.92) * W
        direction = 1 if rng.random() < 0.5 else -1
    x = np.empty(T)
    facing = np.empty(T, np.int64)
    x[t0], facing[t0] = x0, direction
    for t in range(t0 - 1, -1, -1):  # before entering: the straight line that leads in
        x[t], facing[t] = x[t + 1] - direction * speed, direction
    d = direction
    for t in range(t0 + 1, T):
        if rng.random() < params.turn_probability:
            d = -d
        x[t] = x[t - 1] + d * speed * (1.0 + rng.normal(0.0, 0.05))
        facing[t] = d
    stride = 0.8 * height.astype(np.float64)  # one gait cycle (two steps) per 0.8 body heights
    steps = np.abs(np.diff(x, prepend=x[0])) / stride
    phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(steps)
    return Walk(x=x, foot_y=foot_y, height=height, facing=facing, phase=phase, speed=speed)


def _make_pillars(
    rng: np.random.Generator,
    params: SyntheticParams,
    walks: list[Walk],
    cam_x: np.ndarray,
    world_w: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-height foreground pillars, each placed on one walker's path and as wide as that
    walker plus ``occlusion_frames`` frames of its walk, so it hides the walker that long."""
    T, H, W = params.num_frames, params.height, params.width
    columns = np.zeros(world_w, bool)
    image = np.zeros((H, world_w, 3), np.uint8)
    lo, hi = params.occlusion_frames
    used: set[int] = set()
    spacing = int(0.1 * W)  # pillars stand apart, so each one hides walkers on its own
    for _ in range(params.num_occluders):
        candidates = []
        for k, walk in enumerate(walks):
            in_view = (walk.x - cam_x > 0.1 * W) & (walk.x - cam_x < 0.9 * W)
            frames = np.flatnonzero(in_view[int(0.1 * T) : int(0.9 * T) + 1]) + int(0.1 * T)
            if len(frames) and k not in used:
                candidates.append((k, frames))
        placed = None
        for _attempt in range(20):
            if not candidates:
                break
            k, frames = candidates[int(rng.integers(len(candidates)))]
            t = int(frames[rng.integers(len(frames))])
            walk = walks[k]
            hidden = int(rng.integers(int(lo), int(hi) + 1)) + 1
            # The walker is about 0.4 body heights wide at full stride.
            width = min(math.ceil(0.4 * walk.height[t] + walk.speed * hidden), int(0.2 * W))
            x0 = round(walk.x[t] - width / 2)
            x0, x1 = max(x0, 0), min(x0 + width, world_w)
            if x1 - x0 >= 2 and not columns[max(x0 - spacing, 0) : x1 + spacing].any():
                placed = (k, x0, x1)
                break
        if placed is None:
            continue
        k, x0, x1 = placed
        used.add(k)
        columns[x0:x1] = True
        base = rng.uniform(70, 200, 3)
        across = np.linspace(-1.0, 1.0, x1 - x0)
        shade = 0.65 + 0.35 * np.cos(across * np.pi / 2)  # a lit cylinder
        grooves = 1.0 - 0.15 * ((np.arange(x1 - x0) % max((x1 - x0) // 4, 3)) == 0)
        noise = rng.normal(0.0, 6.0, (H, x1 - x0, 1))
        pillar = base[None, None, :] * (shade * grooves)[None, :, None] + noise
        image[:, x0:x1] = np.clip(pillar, 0, 255).astype(np.uint8)
    return columns, image
