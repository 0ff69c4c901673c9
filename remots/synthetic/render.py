"""Rendering one frame of a scene: the background, the walkers (nearest last), the pillars, lighting
and noise; with each walker's visible and amodal masks."""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from remots.synthetic.params import SyntheticParams
from remots.synthetic.scene import NOISE_MARGIN, Identity, Scene

log = logging.getLogger(__name__)


def _render_person(
    ident: Identity, h: int, phase: float, facing: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Draw one walker of body height ``h`` at gait ``phase``.

    Returns ``(patch (ph, pw, 3) uint8, mask (ph, pw) bool, ax, ay)`` with the foot point at
    patch pixel ``(ax, ay)``. The mask is drawn with the same primitives as the colours, so it
    is exactly the walker's pixels.
    """
    h = max(int(h), 12)
    pw, ph = int(0.75 * h) + 6, h + 6
    ax, ay = pw // 2, h + 2
    canvas = np.zeros((ph, pw, 3), np.uint8)
    mask = np.zeros((ph, pw), np.uint8)
    bob = 0.015 * h * abs(math.sin(phase))
    swing = 0.32 * math.sin(phase)

    def at(u: float, v: float, lift: float = bob) -> tuple[int, int]:
        return (round(ax + u * h), round(ay - v * h - lift))

    def line(p, q, colour, thickness):
        cv2.line(canvas, p, q, colour, thickness)
        cv2.line(mask, p, q, 1, thickness)

    def poly(points, colour, target=None):
        pts = np.array(points, np.int32)
        cv2.fillConvexPoly(canvas, pts, colour)
        cv2.fillConvexPoly(mask, pts, 1)
        if target is not None:
            cv2.fillConvexPoly(target, pts, 1)

    def ellipse(centre, axes, colour, start=0, end=360):
        cv2.ellipse(canvas, centre, axes, 0, start, end, colour, -1)
        cv2.ellipse(mask, centre, axes, 0, start, end, 1, -1)

    leg_thickness = max(2, round(0.085 * h))
    for side in (-1, 1):  # the back leg first, darker
        hip = at(side * 0.045, 0.47)
        angle = side * swing
        foot = (
            round(hip[0] + 0.45 * h * math.sin(angle)),
            min(round(hip[1] + 0.45 * h * math.cos(angle)), ay),
        )
        colour = tuple(c * (0.8 if side == -1 else 1.0) for c in ident.trousers)
        line(hip, foot, colour, leg_thickness)
        ellipse(
            (foot[0] + round(facing * 0.03 * h), foot[1]),
            (max(int(0.05 * h), 2), max(int(0.022 * h), 1)),
            ident.shoes,
        )
    if ident.bag_colour is not None:
        back = -facing
        poly(
            [
                at(back * 0.09, 0.76),
                at(back * 0.19, 0.74),
                at(back * 0.19, 0.5),
                at(back * 0.09, 0.5),
            ],
            ident.bag_colour,
        )
    torso = np.zeros((ph, pw), np.uint8)
    poly([at(-0.125, 0.8), at(0.125, 0.8), at(0.11, 0.46), at(-0.11, 0.46)], ident.shirt, torso)
    period = max(2, round(ident.stripe_period * h))
    if ident.pattern == "h_stripes":
        sel = torso.astype(bool) & ((np.arange(ph)[:, None] // period) % 2 == 1)
        canvas[sel] = np.array(ident.pattern_colour, np.uint8)
    elif ident.pattern == "v_stripes":
        sel = torso.astype(bool) & ((np.arange(pw)[None, :] // period) % 2 == 1)
        canvas[sel] = np.array(ident.pattern_colour, np.uint8)
    elif ident.pattern == "patch":  # a logo inside the torso: the mask does not change
        cv2.circle(canvas, at(0.0, 0.66), max(int(0.045 * h), 1), ident.pattern_colour, -1)
    arm_thickness = max(2, round(0.055 * h))
    for side in (-1, 1):
        shoulder = at(side * 0.115, 0.78)
        angle = -side * swing * 0.8
        elbow = (
            round(shoulder[0] + 0.16 * h * math.sin(angle)),
            round(shoulder[1] + 0.16 * h * math.cos(angle)),
        )
        hand = (
            round(shoulder[0] + 0.31 * h * math.sin(angle)),
            round(shoulder[1] + 0.31 * h * math.cos(angle)),
        )
        line(shoulder, elbow, ident.shirt, arm_thickness)
        line(elbow, hand, ident.shirt if ident.long_sleeves else ident.skin, arm_thickness)
        ellipse(hand, (max(int(0.028 * h), 1), max(int(0.028 * h), 1)), ident.skin)
    head_axes = (max(int(0.068 * h), 2), max(int(0.085 * h), 2))
    ellipse(at(facing * 0.01, 0.905), head_axes, ident.skin)
    ellipse(at(0.0, 0.93), (max(int(0.072 * h), 2), max(int(0.07 * h), 2)), ident.hair, 180, 360)
    return canvas, mask.astype(bool), ax, ay


def render_frame(
    scene: Scene, t: int, params: SyntheticParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Compose frame ``t``: background, walkers far to near, pillars, lighting, noise, blur.

    Returns ``(frame (H, W, 3) uint8 BGR, owner (H, W) int16, people)``: ``owner`` is the index
    of the walker that owns each pixel (-1 background, -2 pillar); ``people`` has, for each
    walker in view, its visible and amodal (unoccluded) masks ``(H, W)`` bool, their areas
    (the amodal area counts the part outside the image too), the pixels of it hidden by nearer
    walkers and by pillars, and ``amodal_behind_people`` (its pixels not hidden by a pillar).
    """
    H, W = params.height, params.width
    cam = int(scene.cam_x[t])
    frame = scene.background[:, cam : cam + W].astype(np.float32)
    owner = np.full((H, W), -1, np.int16)
    order = sorted(range(len(scene.walks)), key=lambda k: (scene.walks[k].foot_y[t], k))
    people = []
    for k in order:
        walk = scene.walks[k]
        patch, mask, ax, ay = _render_person(
            scene.identities[k], int(walk.height[t]), float(walk.phase[t]), int(walk.facing[t])
        )
        left = round(walk.x[t]) - cam - ax
        top = round(walk.foot_y[t]) - ay
        ph, pw = mask.shape
        x0, x1, y0, y1 = max(left, 0), min(left + pw, W), max(top, 0), min(top + ph, H)
        if x1 <= x0 or y1 <= y0:
            continue
        local = mask[y0 - top : y1 - top, x0 - left : x1 - left]
        if not local.any():
            continue
        colour_gain = 1.0 + rng.normal(0.0, params.lighting_noise / 2, 3)
        colours = patch[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float32)
        region = frame[y0:y1, x0:x1]
        region[local] = colours[local] * colour_gain.astype(np.float32)
        owner[y0:y1, x0:x1][local] = k
        amodal = np.zeros((H, W), bool)
        amodal[y0:y1, x0:x1] = local
        people.append(
            {
                "identity": k,
                "region": (x0, y0, x1, y1),
                "amodal": amodal,
                "amodal_area": int(mask.sum()),
            }
        )
    columns = scene.pillar_columns[cam : cam + W]
    if columns.any():
        frame[:, columns] = scene.pillar_image[:, cam : cam + W][:, columns]
        owner[:, columns] = -2
    for person in people:
        x0, y0, x1, y1 = person["region"]
        local_owner = owner[y0:y1, x0:x1]
        amodal = person["amodal"][y0:y1, x0:x1]
        person["visible"] = np.zeros((H, W), bool)
        person["visible"][y0:y1, x0:x1] = local_owner == person["identity"]
        person["visible_area"] = int(person["visible"][y0:y1, x0:x1].sum())
        person["hidden_by_people"] = (
            int((amodal & (local_owner >= 0)).sum()) - person["visible_area"]
        )
        person["hidden_by_pillars"] = int((amodal & (local_owner == -2)).sum())
        # What a detector may segment when it takes the nearer people for this one too.
        person["amodal_behind_people"] = np.zeros((H, W), bool)
        person["amodal_behind_people"][y0:y1, x0:x1] = amodal & (local_owner >= 0)
    light = (scene.gain[t] * scene.lamp[cam : cam + W]).astype(np.float32)
    frame *= light[None, :, None]
    dy, dx = (int(v) for v in rng.integers(0, NOISE_MARGIN, 2))
    frame += scene.noise[dy : dy + H, dx : dx + W]
    frame = cv2.GaussianBlur(frame, (3, 3), 0.6)
    np.add(frame, 0.5, out=frame)  # round half up on the cast below
    np.clip(frame, 0, 255, out=frame)
    return frame.astype(np.uint8), owner, people


def visible_clutter(
    scene: Scene, t: int, owner: np.ndarray, min_area: int, H: int, W: int
) -> list[tuple[int, tuple[int, int, int, int], np.ndarray]]:
    """``(clutter index, region (x0, y0, x1, y1), visible mask (H, W) bool)`` of the clutter
    objects seen in frame ``t``."""
    cam = int(scene.cam_x[t])
    out = []
    for i, c in enumerate(scene.clutter):
        ch, cw = c.mask.shape
        left = c.x0 - cam
        x0, x1 = max(left, 0), min(left + cw, W)
        if x1 <= x0:
            continue
        full = np.zeros((H, W), bool)
        full[c.y0 : c.y0 + ch, x0:x1] = c.mask[:, x0 - left : x1 - left]
        region = (x0, c.y0, x1, c.y0 + ch)
        full[c.y0 : c.y0 + ch, x0:x1] &= owner[c.y0 : c.y0 + ch, x0:x1] == -1
        if int(full[c.y0 : c.y0 + ch, x0:x1].sum()) >= min_area:
            out.append((i, region, full))
    return out
