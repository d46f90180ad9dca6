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
    bite = lambda t: np.clip(0.15 * t, 0.5, 0.012 * fh)[:, None] * ey  # noqa: E731
    up_src, lo_src = lm[INNER_UP] - bite(thick_u), lm[INNER_LO] + bite(thick_l)
    iu = g.seam - (UPPER_SHARE * gap * profile + line / 2)[:, None] * ey + hshift
    il = g.seam + ((1 - UPPER_SHARE) * gap * profile + line / 2)[:, None] * ey + hshift
    corner_l = lm[[78, 61]] + drop - ex * corner_dx * 1.0
    corner_r = lm[[308, 291]] + drop + ex * corner_dx * 1.0
    iu[0], il[0] = corner_l[0], corner_l[0]
    iu[-1], il[-1] = corner_r[0], corner_r[0]

    d_iu = iu - up_src
    d_il = il - lo_src
    ou = lm[OUTER_UP] + 0.55 * d_iu
    ol = lm[OUTER_LO] + 0.92 * d_il
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
               round_: float = 0.0, geometry: _Geometry | None = None) -> np.ndarray:
        """A new frame whose mouth has the target shape; pixels outside the lower-face ROI are untouched."""
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

        self._paint_interior(warped, frame, lm, g, iu, il, off, open_)
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
                        off: np.ndarray, open_: float) -> None:
        """Dark red-brown cavity inside the target inner lips, upper teeth when open wide (in place)."""
        h, w = roi_img.shape[:2]
        poly = np.vstack([iu, il[::-1]]) - off
        gap = float(np.max((il - iu) @ g.ey))
        if gap < 0.5:
            return
        x0, y0 = np.floor(poly.min(0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        sub_off = np.array([x0, y0], np.float32)
        cav = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(cav, [np.round((poly - sub_off) * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
        cav = cv2.GaussianBlur(cav, (0, 0), 0.6)
        # depth: darker away from the lips
        depth = cv2.GaussianBlur(cav, (0, 0), max(0.8, gap * 0.35))
        lips = _lip_colour(frame, lm)
        # a closed mouth shows only a soft crease of darker lip, an open one a dark edge
        edge = lips * float(np.interp(gap, [1.0, 4.0], [0.68, 0.5]))
        # back of the mouth: dark, a little of the lips' red, never pure black
        deep = lips * 0.16 + np.array([12, 12, 20], np.float32)
        d = np.clip((depth - 0.25) / 0.6, 0, 1)[..., None] * float(np.clip((gap - 1.0) / 3.0, 0, 1))
        colour = edge + (deep - edge) * d

        teeth_alpha = float(np.clip((gap / g.fh - 0.02) / 0.04, 0, 0.9))
        if teeth_alpha > 0:
            th = min(0.38 * gap, 0.032 * g.fh)
            band = np.vstack([iu, (iu + th * g.ey)[::-1]]) - off - sub_off
            tmask = np.zeros_like(cav)
            cv2.fillPoly(tmask, [np.round(band * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
            tmask = cv2.GaussianBlur(tmask, (0, 0), max(0.7, th * 0.15))
            # fade towards the mouth corners and keep inside the cavity
            cx = ((iu[0] + iu[-1]) / 2 - off - sub_off)
            half = max(float(abs((iu[-1] - iu[0]) @ g.ex)) / 2, 1.0)
            xs = np.arange(x1 - x0, dtype=np.float32)[None, :]
            ys = np.arange(y1 - y0, dtype=np.float32)[:, None]
            u = ((xs - cx[0]) * g.ex[0] + (ys - cx[1]) * g.ex[1]) / half
            fade = np.clip((0.8 - np.abs(u)) / 0.35, 0, 1)
            tmask *= fade * teeth_alpha
            # tooth colour follows the scene's white balance: mostly neutral, a quarter of the skin tint
            skin = np.median(frame[_sample(lm, [50, 280, 18, 200, 205, 425], frame.shape)].astype(np.float32), 0)
            lum = float(skin.mean()) + 1e-3
            tint = 0.75 + 0.25 * skin / lum
            tooth = tint * min(232.0, lum * 1.12 + 28) * np.array([0.97, 1.0, 1.0], np.float32)
            # shade: lit under the lip, darker towards the biting edge and the corners
            top = iu[5] - off - sub_off
            v = ((xs - top[0]) * g.ey[0] + (ys - top[1]) * g.ey[1]) / max(th, 1.0)
            shade = np.clip(1.0 - 0.25 * v - 0.25 * np.abs(u), 0.6, 1.0)[..., None]
            colour = colour + (tooth * shade - colour) * tmask[..., None]
        region = roi_img[y0:y1, x0:x1].astype(np.float32)
        roi_img[y0:y1, x0:x1] = np.clip(region + (colour - region) * cav[..., None], 0, 255).astype(np.uint8)


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


class WarpBackend(MouthBackend):
    """Audio-driven landmark warp; the default because it needs no model weights."""

    name = "warp"
    batch_size = 16

    def __init__(self) -> None:
        self.warper = MouthWarper()
        self.curves: MouthCurves | None = None
        self.track: FaceTrack | None = None
        self._geo: dict[int, _Geometry] = {}

    def begin(self, audio, track: FaceTrack, fps: float, n_out: int) -> None:
        self.begin_with_curves(track, _curves_for(audio, fps, n_out))

    def begin_with_curves(self, track: FaceTrack, curves: MouthCurves) -> None:
        """Start a video with explicit curves (tests, previews, other curve sources)."""
        self.track, self.curves = track, curves
        self._geo = {}

    def _geometry(self, src: int) -> _Geometry:
        g = self._geo.get(src)
        if g is None:
            assert self.track is not None
            g = self._geo[src] = _geometry(self.track.landmarks[src])
        return g

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
                                          self._geometry(s)))
        return out

    def close(self) -> None:
        self.curves, self.track, self._geo = None, None, {}
