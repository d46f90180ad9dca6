"""Default mouth backend: a landmark-driven warp of lips and jaw, needing no downloaded weights.

For every frame the source's own mouth is first NEUTRALISED (inner lips brought together on a seam
between them, jaw raised by the same amount), then opened/spread/rounded by the articulation curves, so
the presenter's original talking is replaced rather than added to. The upper face (upper lip and above)
and the lower face (lower lip and jaw) get two separate smooth backward fields (thin-plate splines on a
coarse grid); each pixel picks the field of its side of the TARGET mouth line, which keeps the lip edges
sharp where they part or meet. Where the target mouth is open, a mouth interior is painted (red-brown
cavity, soft upper-teeth band). Everything runs on the lower-face ROI only, a few ms per 720p frame.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from synthesis import blend
from synthesis.articulation import MouthCurves, mouth_curves
from synthesis.backends.base import FrameBatch, MouthBackend
from synthesis.facetrack import FaceTrack

# MediaPipe FaceMesh lip contours, image-left corner -> image-right corner (11 points each)
INNER_UP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
INNER_LO = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
OUTER_UP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
OUTER_LO = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
CHIN_LINE = [18, 200, 199, 175, 152]  # under the lower lip down to the chin tip
JAW = [132, 58, 172, 136, 150, 149, 176, 148, 377, 400, 378, 379, 365, 397, 288, 361]
UPPER_ANCHORS = [1, 2, 4, 5, 98, 327, 129, 358, 203, 423, 205, 425, 36, 266, 234, 454, 93, 323, 50, 280]
EYE_L, EYE_R = 33, 263
FOREHEAD, CHIN = 10, 152

#: inner-lip gap at open=1, in face heights (a wide "aa")
MAX_GAP = 0.10
#: share of the opening taken by the upper lip (the rest is the jaw + lower lip)
UPPER_SHARE = 0.22
#: where the closed-lip seam lies between the source's inner lips (0 = upper lip stays put)
SEAM = 0.4
#: thickness of the closed lip line, face heights
LIP_LINE = 0.003
#: share of the lip thickness lost at open=1 (lips stretch a little, they do not shrink)
LIP_THIN = 0.08


def _tps_kernel(d2: np.ndarray) -> np.ndarray:
    return 0.5 * d2 * np.log(d2 + 1e-12)


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, 0:1] - b[:, 0]) ** 2 + (a[:, 1:2] - b[:, 1]) ** 2


class _TPS:
    """Thin-plate spline through control points (normalised coordinates), evaluated on a grid.

    Small dense systems: cv2.solve is ~15x faster here than numpy's LAPACK call with its thread overhead.
    """

    def __init__(self, points: np.ndarray, values: np.ndarray) -> None:
        n = len(points)
        k = _tps_kernel(_sqdist(points, points)) + np.eye(n) * 1e-6
        p = np.hstack([np.ones((n, 1)), points])
        a = np.zeros((n + 3, n + 3))
        a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
        rhs = np.zeros((n + 3, values.shape[1]))
        rhs[:n] = values
        ok, coef = cv2.solve(a, rhs, flags=cv2.DECOMP_LU)
        if not ok:
            coef = np.linalg.lstsq(a, rhs, rcond=None)[0]
        self.coef = coef.astype(np.float32)
        self.points = points.astype(np.float32)

    def __call__(self, query: np.ndarray) -> np.ndarray:
        n = len(self.points)
        q = query.astype(np.float32)
        return _tps_kernel(_sqdist(q, self.points)) @ self.coef[:n] + self.coef[n] + q @ self.coef[n + 1:]


@dataclass
class _Geometry:
    """Per source frame: face axes and the neutral (closed) mouth derived from its landmarks."""

    ex: np.ndarray  # (2,) across the face (eye line)
    ey: np.ndarray  # (2,) down the face
    fh: float  # face height px
    seam: np.ndarray  # (11, 2) closed-lip seam points
    src_gap: np.ndarray  # (11,) source inner gap along ey (px)
    u: np.ndarray  # (11,) horizontal position across the mouth, -1..1


def _geometry(lm: np.ndarray) -> _Geometry:
    ex = lm[EYE_R] - lm[EYE_L]
    ex = ex / max(float(np.linalg.norm(ex)), 1e-6)
    ey = np.array([-ex[1], ex[0]], np.float32)
    fh = float(np.linalg.norm(lm[FOREHEAD] - lm[CHIN]))
    up, lo = lm[INNER_UP], lm[INNER_LO]
    gap = np.clip((lo - up) @ ey, 0, None)
    seam = up + SEAM * gap[:, None] * ey
    centre = (lm[61] + lm[291]) / 2
    half = max(float(abs((lm[291] - lm[61]) @ ex)) / 2, 1.0)
    u = np.clip(((up + lo) / 2 - centre) @ ex / half, -1, 1)
    return _Geometry(ex.astype(np.float32), ey, fh, seam.astype(np.float32), gap.astype(np.float32),
                     u.astype(np.float32))


def _targets(lm: np.ndarray, g: _Geometry, open_: float, spread: float, round_: float):
    """Target positions of the lip contours / chin, and the target inner polygon.

    Returns (upper_src, upper_dst, lower_src, lower_dst, inner_up_dst, inner_lo_dst, corner_shift).
    """
    fh, ex, ey = g.fh, g.ex, g.ey
    gap = open_ * MAX_GAP * fh
    line = max(LIP_LINE * fh, 1.0)
    # opening profile across the mouth: corners stay together, rounding makes the opening taller at the sides
    profile = (1 - g.u**2) ** (1.0 - 0.4 * round_)
    width = float(abs((lm[291] - lm[61]) @ ex))
    corner_dx = (0.07 * spread - 0.12 * round_ - 0.04 * open_) * width / 2
    hshift = (g.u[:, None] * corner_dx) * ex
    drop = (0.12 * gap) * ey  # corners follow the jaw a little

    # sample the lips a little inside their inner edge, so no sliver of the source's teeth or cavity
    # survives along the seam when the warp closes an open source mouth
    thick_u = np.clip((lm[INNER_UP] - lm[OUTER_UP]) @ ey, 0, None)
    thick_l = np.clip((lm[OUTER_LO] - lm[INNER_LO]) @ ey, 0, None)
    bite = lambda t: np.clip(0.25 * t, 0.5, 0.012 * fh)[:, None] * ey  # noqa: E731
    up_src, lo_src = lm[INNER_UP] - bite(thick_u), lm[INNER_LO] + bite(thick_l)
    iu = g.seam - (UPPER_SHARE * gap * profile + line / 2)[:, None] * ey + hshift
    il = g.seam + ((1 - UPPER_SHARE) * gap * profile + line / 2)[:, None] * ey + hshift
    corner_l = lm[[78, 61]] + drop - ex * corner_dx * 1.0
    corner_r = lm[[308, 291]] + drop + ex * corner_dx * 1.0
    iu[0], il[0] = corner_l[0], corner_l[0]
    iu[-1], il[-1] = corner_r[0], corner_r[0]

    d_il = il - lo_src
    # the lips keep their thickness (the vermilion band) when they part: the outer contour follows the
    # moved inner contour at the source's inner->outer offset, thinning only slightly when stretched wide
    keep = 1.0 - LIP_THIN * open_
    ou = iu + (lm[OUTER_UP] - lm[INNER_UP]) * keep
    ol = il + (lm[OUTER_LO] - lm[INNER_LO]) * keep
    ou[0], ol[0], ou[-1], ol[-1] = corner_l[1], corner_l[1], corner_r[1], corner_r[1]

    jaw_d = float(d_il[5] @ ey)  # how far the lower lip moves along the face axis
    chin_w = np.array([0.9, 0.87, 0.85, 0.85, 0.85], np.float32)
    chin = lm[CHIN_LINE] + (chin_w * jaw_d)[:, None] * ey
    corner_level = float(((lm[61] + lm[291]) / 2) @ ey)
    jaw_y = lm[JAW] @ ey
    jw = np.clip((jaw_y - corner_level) / max(float(lm[CHIN] @ ey) - corner_level, 1.0), 0, 1) * 0.85
    jaw = lm[JAW] + (jw * jaw_d)[:, None] * ey

    # points beyond the corners shared by both fields so the two sides agree there
    centre = (lm[61] + lm[291]) / 2
    lat = []
    lat_dst = []
    for side, corner in ((-1, corner_l[1]), (1, corner_r[1])):
        for k, w in ((1.35, 0.45), (1.8, 0.12)):
            p = centre + side * k * width / 2 * ex
            lat.append(p)
            lat_dst.append(p + w * (corner - lm[61 if side < 0 else 291]))
    lat, lat_dst = np.array(lat, np.float32), np.array(lat_dst, np.float32)

    shared_src = np.vstack([lm[[78, 61, 308, 291]], lat])
    shared_dst = np.vstack([corner_l, corner_r, lat_dst])
    upper_src = np.vstack([up_src[1:-1], lm[OUTER_UP][1:-1], shared_src])
    upper_dst = np.vstack([iu[1:-1], ou[1:-1], shared_dst])
    lower_src = np.vstack([lo_src[1:-1], lm[OUTER_LO][1:-1], lm[CHIN_LINE], lm[JAW], shared_src])
    lower_dst = np.vstack([il[1:-1], ol[1:-1], chin, jaw, shared_dst])
    return upper_src, upper_dst, lower_src, lower_dst, iu, il, corner_dx


def _anchor_points(lm: np.ndarray, g: _Geometry, upper: bool) -> np.ndarray:
    """Fixed points: nose/cheeks for the upper field; cheeks and a ring below the chin for the lower."""
    if upper:
        return lm[UPPER_ANCHORS]
    below = lm[CHIN] + 0.32 * g.fh * g.ey
    ring = [below, below - 0.3 * g.fh * g.ex, below + 0.3 * g.fh * g.ex]
    jaw_out = lm[[132, 361, 58, 288]]
    return np.vstack([np.array(ring, np.float32), jaw_out + (jaw_out - lm[CHIN]) * 0.25, lm[[234, 454, 93, 323]]])


class MouthWarper:
    """Stateless per-frame renderer (the backend holds the per-video curves)."""

    def __init__(self, grid_cells: int = 24, feather: float = 0.045) -> None:
        self.grid_cells = grid_cells
        self.feather = feather

    def render(self, frame: np.ndarray, lm: np.ndarray, open_: float, spread: float = 0.0,
               round_: float = 0.0, geometry: _Geometry | None = None, style: _Style | None = None) -> np.ndarray:
        """A new frame whose mouth has the target shape; pixels outside the lower-face ROI are untouched.

        style: interior colours and teeth (the backend keeps them steady over a video); default: this frame's
        own colours with synthesised teeth."""
        lm = np.asarray(lm, np.float32)
        g = geometry or _geometry(lm)
        if g.fh < 20:
            return frame
        roi = blend.mask_roi(lm, frame.shape, expand=0.12, feather=self.feather)
        x0, y0, x1, y1 = roi
        w, h = x1 - x0, y1 - y0
        if w < 8 or h < 8:
            return frame
        off = np.array([x0, y0], np.float32)
        up_s, up_d, lo_s, lo_d, iu, il, _ = _targets(lm, g, float(open_), float(spread), float(round_))
        scale = g.fh

        # coarse grid in ROI pixel coordinates
        step = max(2.0, g.fh / self.grid_cells)
        gw, gh = int(np.ceil(w / step)) + 1, int(np.ceil(h / step)) + 1
        gx = np.linspace(0, w - 1, gw, dtype=np.float32)
        gy = np.linspace(0, h - 1, gh, dtype=np.float32)
        grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2) + off

        fields = []
        for src, dst, upper in ((up_s, up_d, True), (lo_s, lo_d, False)):
            anchors = _anchor_points(lm, g, upper)
            pts = np.vstack([dst, anchors]) / scale
            vals = np.vstack([src - dst, np.zeros_like(anchors)]) / scale
            tps = _TPS(pts.astype(np.float64), vals.astype(np.float64))
            fields.append((tps(grid / scale) * scale).reshape(gh, gw, 2).astype(np.float32))

        # the feathered lower-face mask fades the displacement to zero at its edge: a geometric feather,
        # so the edit blends into the frame without the double image an alpha blend of two shapes makes
        small_mask = blend.lower_face_mask(lm, roi, expand=0.12, feather=self.feather, out_size=(gw, gh))[..., None]
        # both fields, faded to zero at the mask edge, upsampled in one call (4 channels)
        both = cv2.resize(np.concatenate(fields, axis=2) * small_mask, (w, h), interpolation=cv2.INTER_LINEAR)
        ux, uy, lx, ly = cv2.split(both)

        # which field each pixel uses: above the TARGET upper inner lip (and its lateral extension) -> upper
        sel = self._upper_selector(lm, g, iu, roi)
        bx, by = self._base_grid(w, h)
        map_x = lx + (ux - lx) * sel + (bx + np.float32(x0))
        map_y = ly + (uy - ly) * sel + (by + np.float32(y0))
        warped = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        self._paint_interior(warped, frame, lm, g, iu, il, off, open_, style)
        return blend.paste(frame, warped, roi)

    def _base_grid(self, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
        key = (w, h)
        if getattr(self, "_grid_key", None) != key:
            self._grid_key = key
            self._grid = (np.tile(np.arange(w, dtype=np.float32), (h, 1)),
                          np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w)))
        return self._grid

    def _upper_selector(self, lm, g: _Geometry, iu: np.ndarray, roi) -> np.ndarray:
        """1 above the target mouth line, 0 below: hard between the corners, soft beyond them."""
        x0, y0, x1, y1 = roi
        w, h = x1 - x0, y1 - y0
        off = np.array([x0, y0], np.float32)
        big = 4 * max(w, h)
        left, right = iu[0] - off, iu[-1] - off
        line = np.vstack([left - g.ex * big, iu - off, right + g.ex * big])
        poly = np.vstack([line, line[-1] - g.ey * big, line[0] - g.ey * big])
        hard = np.zeros((h, w), np.float32)
        cv2.fillPoly(hard, [np.round(poly * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
        # the soft version only matters beyond the corners: blur at quarter resolution
        q = cv2.resize(hard, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        q = cv2.GaussianBlur(q, (0, 0), max(0.5, 0.03 * g.fh / 4))
        soft = cv2.resize(q, (w, h), interpolation=cv2.INTER_LINEAR)
        # blend weight: 0 (hard) between the corners, rising to 1 (soft) outside them
        centre = (lm[61] + lm[291]) / 2 - off
        half = max(float(abs((lm[291] - lm[61]) @ g.ex)) / 2, 1.0)
        xs = (np.arange(w, dtype=np.float32)[None, :] - centre[0]) * g.ex[0]
        ys = (np.arange(h, dtype=np.float32)[:, None] - centre[1]) * g.ex[1]
        t = np.clip((np.abs(xs + ys) / half - 0.95) / 0.35, 0, 1)
        return hard + (soft - hard) * t

    def _paint_interior(self, roi_img: np.ndarray, frame: np.ndarray, lm, g: _Geometry, iu, il,
                        off: np.ndarray, open_: float, style: _Style | None = None) -> None:
        """Mouth interior inside the target inner lips (in place): a cavity darkest at the back, warmer
        (tongue) towards the lower lip, upper teeth under the upper lip (the source's own teeth texture when a
        reference was captured, else synthesised), lower teeth tips on a wide opening; 1-2 px soft edges."""
        style = style or _Style(_palette(frame, lm), None, 0.0)
        h, w = roi_img.shape[:2]
        poly = np.vstack([iu, il[::-1]]) - off
        gaps = (il - iu) @ g.ey
        gmax = float(np.max(gaps))
        if gmax < 0.5:
            return
        x0, y0 = np.floor(poly.min(0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        sub_off = np.array([x0, y0], np.float32)
        cav = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(cav, [np.round((poly - sub_off) * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
        cav = cv2.GaussianBlur(cav, (0, 0), 0.55)  # anti-aliased inner-lip edge, ~1.5 px

        # mouth coordinates of every pixel: s across (px from the mouth centre), dy below the target upper
        # inner lip, gap = local inner-lip distance, v = dy / gap (0 at the upper lip, 1 at the lower lip)
        fh = g.fh
        c0 = (lm[61] + lm[291]) / 2 - off - sub_off
        half = max(float(abs((lm[291] - lm[61]) @ g.ex)) / 2, 1.0)
        xs = np.arange(x1 - x0, dtype=np.float32)[None, :] - c0[0]
        ys = np.arange(y1 - y0, dtype=np.float32)[:, None] - c0[1]
        s = xs * g.ex[0] + ys * g.ex[1]
        t = xs * g.ey[0] + ys * g.ey[1]
        pu, pl = iu - off - sub_off - c0, il - off - sub_off - c0
        su, sl = np.maximum.accumulate(pu @ g.ex), np.maximum.accumulate(pl @ g.ex)
        top = np.interp(s.ravel(), su, pu @ g.ey).reshape(s.shape).astype(np.float32)
        bot = np.interp(s.ravel(), sl, pl @ g.ey).reshape(s.shape).astype(np.float32)
        gap = np.maximum(bot - top, 0.5)
        dy = t - top
        v = np.clip(dy / gap, 0, 1)
        u = s / half
        au = np.abs(u)

        lips, skin = style.palette.lips, style.palette.skin
        open_amt = float(np.clip((gmax - 1.5) / 4.0, 0, 1))  # 0: a closed crease, 1: a real opening
        # back of the mouth: very dark red-brown, never black; darkest at the centre, a little lighter at
        # the sides and under the lips' inner surface
        deep = lips * np.array([0.07, 0.07, 0.1], np.float32) + np.array([4, 4, 8], np.float32)
        back = 1.0 + 0.9 * au**2
        # tongue: dark red rising from the lower lip, its top edge curving up at the sides
        tongue = lips * np.array([0.26, 0.28, 0.46], np.float32) + skin * 0.02
        vt = 0.62 - 0.12 * np.clip(gmax / (0.06 * fh), 0, 1) + 0.25 * au**2
        wt = np.clip((v - vt) / 0.3 + 0.5, 0, 1) * float(np.clip((gmax - 3) / 6.0, 0, 1))
        colour = (deep * back[..., None]) + (tongue - deep) * wt[..., None]
        colour = colour * (0.8 + 0.25 * v)[..., None]  # shadow of the upper lip, light on the tongue
        # a closed or nearly closed mouth is a soft crease of darkened lip
        crease = lips * (np.array([0.0, 0.0, 0.06], np.float32) + float(np.interp(gmax, [1.0, 4.0], [0.68, 0.5])))
        colour = crease + (colour - crease) * open_amt

        # teeth, premultiplied: synthesised band, the captured real texture, or a mix while it fades in
        tcol, ta = None, None
        if open_amt > 0:
            tcol, ta = _synthetic_teeth(u, s, dy, fh, half, style.palette, style.teeth)
            if style.teeth is not None and style.teeth_weight > 0:
                rcol, ra = style.teeth.sample(u, dy / fh, style.palette.lum)
                # synthesised teeth continue the row where the captured ones do not reach (the corners)
                fill = (1 - np.interp(u, REF_U, style.teeth.cover)).astype(np.float32)
                rcol, ra = rcol + tcol * fill[..., None], ra + ta * fill
                k = style.teeth_weight
                tcol, ta = tcol + (rcol - tcol) * k, ta + (ra - ta) * k
            lcol, la = _lower_teeth(u, s, bot - t, gmax, fh, half, style.palette, style.teeth)
            tcol, ta = tcol * (1 - la[..., None]) + lcol, ta * (1 - la) + la
            # upper lip's shadow on the teeth, teeth only once the lips have really parted
            tshade = (1.0 - 0.2 * np.exp(-np.maximum(dy, 0) / 1.0))[..., None]
            tcol, ta = tcol * tshade * open_amt, ta * open_amt
            colour = colour * (1 - ta[..., None]) + tcol
        # wet inner-lip rim: lip red darkening into the mouth over ~2 px along the whole edge
        rim = cv2.GaussianBlur(cav, (0, 0), float(np.clip(0.05 * gmax, 0.6, 1.2)))
        rim = np.clip((1.0 - rim) / 0.6, 0, 1) * (1 - 0.8 * (ta if ta is not None else 0))
        wet = lips * np.array([0.5, 0.5, 0.62], np.float32)
        colour = colour + (wet - colour) * (rim * 0.6 * open_amt)[..., None]

        region = roi_img[y0:y1, x0:x1].astype(np.float32)
        roi_img[y0:y1, x0:x1] = np.clip(region + (colour - region) * cav[..., None], 0, 255).astype(np.uint8)


@dataclass
class _Palette:
    """Colours of one frame the interior is tinted from: lip red, skin, skin luminance."""

    lips: np.ndarray
    skin: np.ndarray
    lum: float

    def mix(self, other: _Palette, k: float) -> _Palette:
        return _Palette(self.lips + (other.lips - self.lips) * k, self.skin + (other.skin - self.skin) * k,
                        self.lum + (other.lum - self.lum) * k)


def _palette(frame: np.ndarray, lm: np.ndarray) -> _Palette:
    skin = np.median(frame[_sample(lm, SKIN_POINTS, frame.shape)].astype(np.float32), 0)
    return _Palette(_lip_colour(frame, lm), skin, max(float(skin @ LUMA), 1.0))


#: BGR luma weights
LUMA = np.array([0.114, 0.587, 0.299], np.float32)
SKIN_POINTS = [50, 280, 205, 425, 36, 266, 101, 330]
#: tooth boundaries across the mouth, in mouth half-widths (foreshortened along the dental arch)
UPPER_TEETH_EDGES = np.array([0.0, 0.3, 0.52, 0.7, 0.84, 0.95], np.float32)
LOWER_TEETH_EDGES = np.array([0.0, 0.2, 0.39, 0.56, 0.72], np.float32)
#: visible length of the upper incisors, face heights
TOOTH_LEN = 0.042


def _tooth_colour(pal: _Palette, teeth: _TeethRef | None) -> np.ndarray:
    """Off-white taking the scene's tint (never a neutral grey), or the captured teeth's own colour."""
    if teeth is not None:
        return teeth.colour * pal.lum
    tint = pal.skin / max(float(pal.skin.mean()), 1.0)
    ivory = np.array([0.94, 1.0, 1.04], np.float32)
    return (0.82 * ivory + 0.18 * tint) * float(np.clip(pal.lum * 0.98 + 22, 60, 232))


def _gaps(s: np.ndarray, half: float, edges: np.ndarray) -> np.ndarray:
    """Distance in px from each pixel to the nearest boundary between two teeth."""
    a = np.abs(s)
    d = np.abs(a - edges[0] * half)
    for e in edges[1:]:
        d = np.minimum(d, np.abs(a - e * half))
    return d


def _synthetic_teeth(u, s, dy, fh, half, pal: _Palette, teeth: _TeethRef | None):
    """Upper teeth row hanging under the upper lip: per-tooth gaps, rounded incisal edges, gum line,
    darker towards the mouth corners. Returns premultiplied colour and alpha."""
    au = np.abs(u)
    length = TOOTH_LEN * fh * (1 - 0.35 * au**2)
    dgap = _gaps(s, half, UPPER_TEETH_EDGES)
    width = 0.16 * half
    # each tooth is a little shorter at its corners: a scalloped biting edge
    length = length * (1 - 0.18 * np.exp(-(dgap / (0.35 * width)) ** 2))
    alpha = np.clip((length - dy) / 1.2 + 0.5, 0, 1) * (dy > -1.0)
    alpha *= np.clip((0.92 - au) / 0.2, 0, 1)
    base = _tooth_colour(pal, teeth)
    shade = 1.0 - 0.55 * np.clip((au - 0.4) / 0.5, 0, 1) - 0.08 * np.clip(dy / np.maximum(length, 1), 0, 1)
    shade = shade * (1 - 0.13 * np.exp(-(dgap / 0.55) ** 2))  # the faint line between two teeth
    col = base * shade[..., None]
    gum = np.exp(-np.maximum(dy, 0) / max(0.08 * TOOTH_LEN * fh, 0.5))[..., None]
    col = col + (pal.lips * 0.7 - col) * gum * 0.45
    return col * alpha[..., None], alpha


def _lower_teeth(u, s, above, gmax, fh, half, pal: _Palette, teeth: _TeethRef | None):
    """Tips of the lower incisors above the lower lip, only on a wide opening (premultiplied)."""
    amount = 0.45 * float(np.clip((gmax / fh - 0.075) / 0.02, 0, 1))
    if amount <= 0:
        z = np.zeros_like(u)
        return z[..., None] * np.zeros(3, np.float32), z
    au = np.abs(u)
    length = 0.011 * fh * (1 - 0.8 * au**2)
    dgap = _gaps(s, half, LOWER_TEETH_EDGES)
    alpha = np.clip((length - above) / 1.2 + 0.5, 0, 1) * np.clip((0.5 - au) / 0.2, 0, 1) * amount
    shade = (0.78 - 0.25 * np.clip(au / 0.75, 0, 1)) * (1 - 0.16 * np.exp(-(dgap / 0.55) ** 2))
    return _tooth_colour(pal, teeth) * (shade * alpha)[..., None], alpha


#: reference teeth patch: rows = depth below the upper inner lip (0..REF_DEPTH face heights), cols = -1..1
REF_ROWS, REF_COLS, REF_DEPTH = 48, 96, 0.09
#: a reference must show at least this length of upper teeth (face heights): no slivers of incisal edge
REF_MIN_LEN = 0.022
REF_U = np.linspace(-1, 1, REF_COLS, dtype=np.float32)


@dataclass
class _TeethRef:
    """The source's own upper teeth, normalised to the lip geometry: premultiplied BGR relative to the skin
    luminance of the reference frame, plus opacity."""

    pm: np.ndarray  # (REF_ROWS, REF_COLS, 4) float32: B, G, R premultiplied (/ skin luminance), alpha
    colour: np.ndarray  # (3,) mean tooth colour / skin luminance
    score: float = 0.0  # visible tooth area, face heights x mouth half-widths
    cover: np.ndarray | None = None  # (REF_COLS,) how much of each column holds teeth
    source: int = -1

    def sample(self, u: np.ndarray, depth: np.ndarray, lum: float) -> tuple[np.ndarray, np.ndarray]:
        mx = ((u + 1) * (0.5 * (REF_COLS - 1))).astype(np.float32)
        my = (depth * ((REF_ROWS - 1) / REF_DEPTH)).astype(np.float32)
        out = cv2.remap(self.pm, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out[..., :3] * lum, out[..., 3]


def _smoothstep(x: np.ndarray, a: float, b: float) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


def extract_teeth(frame: np.ndarray, lm: np.ndarray, g: _Geometry | None = None) -> _TeethRef | None:
    """The upper teeth visible between the source's inner lips, or None when none are clearly visible."""
    lm = np.asarray(lm, np.float32)
    g = g or _geometry(lm)
    pal = _palette(frame, lm)
    c0 = (lm[61] + lm[291]) / 2
    half = max(float(abs((lm[291] - lm[61]) @ g.ex)) / 2, 1.0)
    pu, pl = lm[INNER_UP] - c0, lm[INNER_LO] - c0
    su, sl = np.maximum.accumulate(pu @ g.ex), np.maximum.accumulate(pl @ g.ex)
    cols = np.linspace(-1, 1, REF_COLS, dtype=np.float32) * half
    top = np.interp(cols, su, pu @ g.ey).astype(np.float32)
    bot = np.interp(cols, sl, pl @ g.ey).astype(np.float32)
    inside_x = (cols > su[0]) & (cols < su[-1])

    def grab(start: np.ndarray):
        depth = np.linspace(0, REF_DEPTH * g.fh, REF_ROWS, dtype=np.float32)[:, None]
        tt = start[None, :] + depth
        pts = c0 + cols[None, :, None] * g.ex + tt[..., None] * g.ey
        patch = cv2.remap(frame, pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        lum = patch @ LUMA
        red = (patch[..., 2] - patch[..., 1]) / (lum + 1)
        a = _smoothstep(lum, 0.5 * pal.lum, 0.8 * pal.lum) * (1 - _smoothstep(red, 0.12, 0.3))
        a *= ((tt < bot[None, :] - 0.7) & inside_x[None, :])
        # keep the first bright run from the top of each column: the upper teeth, not the lower ones
        on = a > 0.5
        started = np.maximum.accumulate(on, axis=0)
        ended = np.maximum.accumulate(started & (a < 0.2), axis=0)
        return patch, a * ~ended, on

    _, a, on = grab(top)
    central = np.abs(cols) < 0.45 * half
    has = on.any(0)
    if has[central].mean() < 0.6:
        return None
    # teeth start right under the lip: drop the band of lip/shadow the landmarks leave above them
    first = np.where(has, on.argmax(0), 0).astype(np.float32)
    first = float(np.median(first[has & central])) * REF_DEPTH * g.fh / (REF_ROWS - 1)
    patch, a, on = grab(top + max(first - 1.0, 0.0))
    # columns whose bright run starts well below the others hold something else (tongue, a lower tooth)
    late = on.argmax(0) > 0.02 * (REF_ROWS - 1) / REF_DEPTH + float(np.median(on.argmax(0)[on.any(0) & central]))
    a[:, late] = 0
    # close narrow vertical gaps (a dark interdental line must not become a missing tooth)
    a = cv2.morphologyEx(a.astype(np.float32), cv2.MORPH_CLOSE, np.ones((1, 7), np.uint8))
    length = (a[:, central] > 0.5).sum(0) * REF_DEPTH / (REF_ROWS - 1)
    if float(np.median(length)) < REF_MIN_LEN:
        return None
    # nothing deeper than the incisors' own length (a bright tongue or lower tooth joined at a side)
    depth_ok = np.arange(REF_ROWS)[:, None] * (REF_DEPTH / (REF_ROWS - 1)) <= 1.25 * float(np.median(length)) + 0.004
    a = cv2.GaussianBlur((a * depth_ok).astype(np.float32), (0, 0), 0.6)
    sel = a > 0.6
    colour = patch[sel].mean(0) / pal.lum
    pm = np.dstack([patch * a[..., None] / pal.lum, a]).astype(np.float32)
    score = float(a.sum()) * (REF_DEPTH / (REF_ROWS - 1)) * (2.0 / (REF_COLS - 1))
    cover = _smoothstep(cv2.GaussianBlur(a.max(0)[None, :], (0, 0), 2.0)[0], 0.2, 0.7)
    return _TeethRef(pm, colour.astype(np.float32), score, cover.astype(np.float32))


@dataclass
class _Style:
    palette: _Palette
    teeth: _TeethRef | None
    teeth_weight: float


def _sample(lm: np.ndarray, idx: list[int], shape) -> tuple[np.ndarray, np.ndarray]:
    p = np.round(lm[idx]).astype(int)
    return np.clip(p[:, 1], 0, shape[0] - 1), np.clip(p[:, 0], 0, shape[1] - 1)


def _lip_colour(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Median BGR half way between the inner and outer lip contours (the red of the lips)."""
    mid = (lm[OUTER_UP[2:9]] + lm[INNER_UP[2:9]]) / 2
    mid_lo = (lm[OUTER_LO[2:9]] + lm[INNER_LO[2:9]]) / 2
    pts = np.round(np.vstack([mid, mid_lo])).astype(int)
    ys = np.clip(pts[:, 1], 0, frame.shape[0] - 1)
    xs = np.clip(pts[:, 0], 0, frame.shape[1] - 1)
    return np.median(frame[ys, xs].astype(np.float32), axis=0)


def _curves_for(audio, fps: float, n_out: int) -> MouthCurves:
    vad = None
    if hasattr(audio, "voice_activity"):
        vad = audio.voice_activity(fps, n_out)
        if getattr(audio, "vad_probs", np.zeros(0)).size == 0:
            vad = None
    return mouth_curves(audio.samples, fps, n_out, vad=vad)


#: a source frame can give the teeth reference when its inner-lip gap is at least this share of the clip's widest
REF_GAP_SHARE = 0.6
#: source frames at most examined for teeth per video (each look costs ~1 ms)
MAX_REF_TRIES = 40
#: a later candidate replaces the teeth reference when it shows this much more tooth area
REF_UPGRADE = 1.3
#: output frames over which a newly captured teeth texture fades in (no pop)
TEETH_FADE = 8
#: per output frame weight of the newest frame in the running interior palette (no colour flicker)
PALETTE_RATE = 0.15


class _Bounded(OrderedDict):
    """Per-source-frame cache with a size cap: memory must not grow with the video's length
    (ping-pong revisits recent frames, which stay cached)."""

    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if len(self) > self.maxsize:
            self.popitem(last=False)


class WarpBackend(MouthBackend):
    """Audio-driven landmark warp; the default because it needs no model weights.

    Teeth: begin() ranks the source frames by inner-lip gap (the landmarks are all it has); the first candidate
    that render() then sees with bright teeth between the lips becomes the teeth reference for the whole video
    and fades in over TEETH_FADE frames; until then, or when the source never shows teeth, teeth are
    synthesised. A caller that can read the source early may hand that frame to set_reference_frame().
    """

    name = "warp"
    batch_size = 16

    def __init__(self) -> None:
        self.warper = MouthWarper()
        self.curves: MouthCurves | None = None
        self.track: FaceTrack | None = None
        self._geo: _Bounded = _Bounded()
        self._reset()

    def _reset(self) -> None:
        self.reference_candidates: np.ndarray = np.zeros(0, np.int64)
        self.teeth: _TeethRef | None = None
        self._tried: set[int] = set()
        self._candidate_set: set[int] = set()
        self._teeth_age = 0
        self._old_teeth: _TeethRef | None = None
        self._n_rendered = 0
        self._palette: _Palette | None = None
        self._pal_cache: _Bounded = _Bounded()

    def begin(self, audio, track: FaceTrack, fps: float, n_out: int) -> None:
        self.begin_with_curves(track, _curves_for(audio, fps, n_out))

    def begin_with_curves(self, track: FaceTrack, curves: MouthCurves) -> None:
        """Start a video with explicit curves (tests, previews, other curve sources)."""
        self.track, self.curves = track, curves
        self._geo = _Bounded()
        self._reset()
        gap = np.nan_to_num(track.mouth_opening(), nan=0.0)
        ok = track.present & track.detected & (gap > 0.015)
        if ok.any():
            ok &= gap >= REF_GAP_SHARE * float(gap[ok].max())
            order = np.argsort(-gap[ok], kind="stable")
            self.reference_candidates = np.flatnonzero(ok)[order]
        self._candidate_set = set(self.reference_candidates.tolist())

    @property
    def reference_index(self) -> int:
        """The source frame most likely to show the teeth (-1: none opens its mouth)."""
        return int(self.reference_candidates[0]) if self.reference_candidates.size else -1

    def set_reference_frame(self, frame: np.ndarray, src: int) -> bool:
        """Capture the teeth texture from source frame `src` now; True when it shows teeth."""
        assert self.track is not None, "begin() first"
        self._tried.add(int(src))
        ref = extract_teeth(frame, self.track.landmarks[src], self._geometry(src))
        if ref is not None and (self.teeth is None or ref.score > self.teeth.score):
            self._take(ref, src)
        return ref is not None

    def _geometry(self, src: int) -> _Geometry:
        g = self._geo.get(src)
        if g is None:
            assert self.track is not None
            g = self._geo[src] = _geometry(self.track.landmarks[src])
        return g

    def _style(self, frame: np.ndarray, src: int) -> _Style:
        assert self.track is not None
        if src not in self._tried and len(self._tried) < MAX_REF_TRIES and src in self._candidate_set:
            self._tried.add(src)
            ref = extract_teeth(frame, self.track.landmarks[src], self._geometry(src))
            if ref is not None and (self.teeth is None or ref.score > REF_UPGRADE * self.teeth.score):
                self._take(ref, src)
        pal = self._pal_cache.get(src)
        if pal is None:
            pal = self._pal_cache[src] = _palette(frame, self.track.landmarks[src])
        self._palette = pal if self._palette is None else self._palette.mix(pal, PALETTE_RATE)
        self._n_rendered += 1
        teeth = self.teeth
        if teeth is not None and self._teeth_age < TEETH_FADE:
            # a better reference found mid-video: cross-fade from the previous teeth, never pop
            self._teeth_age += 1
            k = self._teeth_age / TEETH_FADE
            if self._old_teeth is None:
                return _Style(self._palette, teeth, k)
            old = self._old_teeth
            teeth = _TeethRef(old.pm + (teeth.pm - old.pm) * k, old.colour + (teeth.colour - old.colour) * k,
                              teeth.score, old.cover + (teeth.cover - old.cover) * k)
        return _Style(self._palette, teeth, 1.0 if teeth is not None else 0.0)

    def _take(self, ref: _TeethRef, src: int) -> None:
        ref.source = int(src)
        self._old_teeth = self.teeth
        self.teeth = ref
        # at the start of a video nothing has been shown yet: no fade needed
        self._teeth_age = TEETH_FADE if self._n_rendered == 0 else 0

    def render(self, batch: FrameBatch) -> list[np.ndarray]:
        assert self.track is not None and self.curves is not None, "begin() first"
        out: list[np.ndarray] = []
        n = len(self.curves)
        for frame, o, s in zip(batch.frames, batch.out_index, batch.src_index, strict=True):
            s = int(s)
            if s < 0 or s >= self.track.n_frames or not self.track.present[s]:
                out.append(frame)
                continue
            k = min(int(o), n - 1) if n else 0
            opening = float(self.curves.open[k]) if n else 0.0
            spread = float(self.curves.spread[k]) if n else 0.0
            round_ = float(self.curves.round[k]) if n else 0.0
            out.append(self.warper.render(frame, self.track.landmarks[s], opening, spread, round_,
                                          self._geometry(s), self._style(frame, s)))
        return out

    def close(self) -> None:
        self.curves, self.track, self._geo = None, None, _Bounded()
        self._reset()
