"""The page's figures as SVG text (drawn on the server, no plotting library in the browser).

Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies), and
shapes repeat what colour says where it matters (tier: circle, triangle, diamond). Text
is large for a projector. Every function takes plain arrays and returns a string.
"""

from __future__ import annotations

import html
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ARM_COLORS",
    "OKABE_ITO",
    "STATE_COLORS",
    "TIER_COLORS",
    "Layout",
    "Line",
    "NetworkSVG",
    "km_steps",
    "layout_network",
    "line_chart",
    "network_svg",
    "wilson",
]

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
STATE_COLORS = {
    "unaware": "#DDDDDD",
    "aware": OKABE_ITO["sky"],
    "adopted": OKABE_ITO["blue"],
    "believes": OKABE_ITO["vermillion"],
    "corrected": OKABE_ITO["green"],
    "doubts": OKABE_ITO["orange"],
}
TIER_COLORS = {"primary": OKABE_ITO["vermillion"], "secondary": OKABE_ITO["purple"], "tertiary": OKABE_ITO["blue"]}
ARM_COLORS = {"baseline": OKABE_ITO["black"], "intervention": OKABE_ITO["blue"]}
FONT = "font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',system-ui,sans-serif"
INK = "#111111"
GRID = "#C8C8C8"


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


# ------------------------------------------------------------------------- network
@dataclass
class Layout:
    """Positions in [0, 1]^2: clinicians (n, 2) and the groups that existed when laid out."""

    clinicians: np.ndarray
    groups: np.ndarray

    def group_xy(self, n_groups: int, m_clinician: np.ndarray, m_group: np.ndarray) -> np.ndarray:
        """Positions of ``n_groups`` groups: laid-out ones keep theirs, new ones sit at their members' centroid."""
        out = np.full((n_groups, 2), 0.5)
        k = min(n_groups, self.groups.shape[0])
        out[:k] = self.groups[:k]
        if n_groups > k:
            new = m_group >= k
            sums = np.zeros((n_groups, 2))
            np.add.at(sums, m_group[new], self.clinicians[m_clinician[new]])
            cnt = np.bincount(m_group[new], minlength=n_groups)[:, None]
            has = (cnt[:, 0] > 0) & (np.arange(n_groups) >= k)
            out[has] = sums[has] / cnt[has]
        return out


def layout_network(
    n: int, m_clinician: np.ndarray, m_group: np.ndarray, n_groups: int, facility: np.ndarray, seed: int
) -> Layout:
    """A force layout of the bipartite clinician–group graph, laid out once with ``seed``.

    Clinicians of one facility are tied by weak invisible springs so colleagues sit together.
    """
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_nodes_from(range(n, n + n_groups))
    g.add_edges_from(zip(m_clinician.tolist(), (m_group + n).tolist(), strict=True), weight=1.0)
    fac = np.asarray(facility)
    base = n + n_groups
    for f in np.unique(fac):
        g.add_edges_from(((int(c), base + int(f)) for c in np.flatnonzero(fac == f)), weight=0.6)
    pos = nx.spring_layout(g, seed=int(seed), iterations=120, k=1.6 / math.sqrt(max(g.number_of_nodes(), 1)))
    xy = np.array([pos[v] for v in range(n + n_groups)], float)
    # scale by the 2-98% range so a few outliers (a clinician in no group) do not shrink the rest
    lo, hi = np.quantile(xy, 0.02, axis=0), np.quantile(xy, 0.98, axis=0)
    xy = np.clip((xy - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)
    return Layout(clinicians=xy[:n], groups=xy[n:])


def _shape(kind: int, x: float, y: float, r: float) -> str:
    if kind == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'
    if kind == 1:
        h = r * 1.25
        return (
            f'<path d="M{x:.1f} {y - h:.1f}L{x + h * 0.95:.1f} {y + h * 0.7:.1f}L{x - h * 0.95:.1f} {y + h * 0.7:.1f}Z"'
        )
    h = r * 1.3
    return f'<path d="M{x:.1f} {y - h:.1f}L{x + h:.1f} {y:.1f}L{x:.1f} {y + h:.1f}L{x - h:.1f} {y:.1f}Z"'


@dataclass(frozen=True)
class NetworkSVG:
    """The network picture in two layers of the same size, drawn one over the other:
    ``background`` (membership lines and group squares; it changes only when memberships do,
    so a page re-sends it rarely) and ``foreground`` (posts, clinicians, legend: every tick)."""

    background: str
    foreground: str


def network_svg(
    layout: Layout,
    states: np.ndarray,
    state_names: Sequence[str],
    tier: np.ndarray,
    m_clinician: np.ndarray,
    m_group: np.ndarray,
    n_groups: int,
    *,
    posts: Sequence[tuple[int, int]] = (),
    labels: dict[str, str] | None = None,
    width: int = 900,
    height: int = 620,
    test_id: str = "network",
) -> NetworkSVG:
    """Clinicians coloured by state (shape = tier), groups as hollow squares joined to their members.

    ``posts``: (sender, group) pairs of the last tick, drawn as thick lines in the sender's colour.
    ``labels``: state name -> legend text.
    """
    pad = 16
    w, h = width - 2 * pad, height - 2 * pad - 40
    cxy = layout.clinicians * [w, h] + [pad, pad]
    gxy = layout.group_xy(n_groups, m_clinician, m_group) * [w, h] + [pad, pad]
    background = _background(layout, cxy, gxy, m_clinician, m_group, n_groups, width, height, test_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" data-testid="{_esc(test_id)}" style="{FONT};display:block">'
    ]
    for s, g in posts:
        if 0 <= s < cxy.shape[0] and 0 <= g < n_groups:
            col = STATE_COLORS.get(state_names[states[s]], INK)
            parts.append(
                f'<line x1="{cxy[s, 0]:.0f}" y1="{cxy[s, 1]:.0f}" x2="{gxy[g, 0]:.0f}" y2="{gxy[g, 1]:.0f}" '
                f'stroke="{col}" stroke-width="4" stroke-opacity="0.9" data-post="1"/>'
            )
    for c in range(cxy.shape[0]):
        name = state_names[states[c]]
        col = STATE_COLORS.get(name, "#888888")
        parts.append(
            _shape(int(tier[c]), cxy[c, 0], cxy[c, 1], 9.0)
            + f' fill="{col}" stroke="{INK}" stroke-width="1.1" data-state="{_esc(name)}"/>'
        )
    # legend: one swatch per state with its count
    y = height - 22
    x = pad
    counts = np.bincount(states, minlength=len(state_names))
    for k, name in enumerate(state_names):
        text = f"{(labels or {}).get(name, name)} {counts[k]}"
        parts.append(
            f'<circle cx="{x + 9}" cy="{y - 6}" r="9" fill="{STATE_COLORS.get(name, "#888")}" stroke="{INK}"/>'
            f'<text x="{x + 24}" y="{y}" font-size="20" fill="{INK}" data-legend="{_esc(name)}">{_esc(text)}</text>'
        )
        x += 34 + 11 * len(text) + (10 * sum(1 for ch in text if ord(ch) > 0x2E80))
    parts.append("</svg>")
    return NetworkSVG(background, "".join(parts))


_BACKGROUNDS: dict[tuple, tuple[Layout, str]] = {}


def _background(
    layout: Layout,
    cxy: np.ndarray,
    gxy: np.ndarray,
    m_clinician: np.ndarray,
    m_group: np.ndarray,
    n_groups: int,
    width: int,
    height: int,
    test_id: str,
) -> str:
    """Membership lines and group squares. Memberships change rarely, so the text is kept per
    (layout, memberships) and reused by every step and every session that shares them."""
    key = (
        id(layout),
        zlib.crc32(m_clinician.tobytes()),
        zlib.crc32(m_group.tobytes()),
        n_groups,
        width,
        height,
        test_id,
    )
    hit = _BACKGROUNDS.get(key)
    if hit is not None and hit[0] is layout:
        return hit[1]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'data-testid="{_esc(test_id)}-groups" style="display:block;background:#fff">'
    ]
    if m_clinician.size:
        a, b = cxy[m_clinician], gxy[m_group]
        d = "".join(f"M{x0:.0f} {y0:.0f}L{x1:.0f} {y1:.0f}" for (x0, y0), (x1, y1) in zip(a, b, strict=True))
        parts.append(f'<path d="{d}" stroke="#9A9A9A" stroke-width="0.9" stroke-opacity="0.55" fill="none"/>')
    sizes = np.bincount(m_group, minlength=n_groups) if m_group.size else np.zeros(n_groups, int)
    for g in range(n_groups):
        if sizes[g] == 0:
            continue
        r = 3.0 + 1.1 * math.sqrt(sizes[g])
        parts.append(
            f'<rect x="{gxy[g, 0] - r:.1f}" y="{gxy[g, 1] - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
            f'fill="#FFFFFF" stroke="#333" stroke-width="1.6" data-group="{g}"/>'
        )
    parts.append("</svg>")
    text = "".join(parts)
    if len(_BACKGROUNDS) > 256:
        _BACKGROUNDS.clear()
    _BACKGROUNDS[key] = (layout, text)
    return text


# --------------------------------------------------------------------------- charts
@dataclass
class Line:
    label: str
    x: np.ndarray
    y: np.ndarray
    color: str = INK
    dash: str = ""
    width: float = 3.0
    step: bool = False


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = max(hi - lo, 1e-9)
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def line_chart(
    lines: Sequence[Line],
    *,
    x_max: float,
    y_max: float = 1.0,
    x_min: float = 0.0,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    percent: bool = True,
    marks: Sequence[tuple[float, str]] = (),
    bands: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, str, float]] = (),
    log_x: bool = False,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    y_min: float = 0.0,
    width: int = 900,
    height: int = 420,
    test_id: str = "chart",
    legend: bool = True,
) -> str:
    """Lines (and filled bands ``(x, lo, hi, colour, opacity)``) on shared axes, with vertical marks."""
    left, right, top, bottom = 84, 20, 52 if title else 18, 64
    pw, ph = width - left - right, height - top - bottom
    shown = [ln for ln in lines if ln.label] if legend else []
    # as many legend columns as the longest label allows (CJK characters are about twice as wide)
    widest = max((60 + sum(19 if ord(ch) > 0x2E80 else 10 for ch in ln.label) for ln in shown), default=1)
    cols = max(1, min(3, int((width - left) // widest)))
    legend_h = 30 * math.ceil(len(shown) / cols) + 6 if shown else 0
    height = height + legend_h
    y_min = float(y_min)

    def fx(x):
        x = np.asarray(x, float)
        if log_x:
            lo, hi = math.log10(max(x_min, 1e-3)), math.log10(max(x_max, x_min * 10))
            return left + (np.log10(np.clip(x, max(x_min, 1e-3), None)) - lo) / (hi - lo) * pw
        return left + (x - x_min) / max(x_max - x_min, 1e-9) * pw

    def fy(y):
        return top + ph - (np.asarray(y, float) - y_min) / max(y_max - y_min, 1e-9) * ph

    p = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'data-testid="{_esc(test_id)}" style="{FONT};background:#fff">'
    ]
    if title:
        p.append(f'<text x="{left}" y="30" font-size="22" font-weight="600" fill="{INK}">{_esc(title)}</text>')
    for v in _nice_ticks(y_min, y_max, 5):
        yy = float(fy(v))
        lab = f"{v:.0%}" if percent else f"{v:g}"
        p.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 10}" y="{yy + 6:.1f}" font-size="18" text-anchor="end" fill="{INK}">{lab}</text>'
        )
    ticks = list(x_ticks) if x_ticks is not None else [(v, f"{v:g}") for v in _nice_ticks(x_min, x_max, 6)]
    for v, lab in ticks:
        xx = float(fx(v))
        if left - 1 <= xx <= left + pw + 1:
            p.append(
                f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{top + ph}" stroke="{GRID}" stroke-width="1"/>'
                f'<text x="{xx:.1f}" y="{top + ph + 24}" font-size="18" text-anchor="middle" fill="{INK}">{_esc(lab)}</text>'
            )
    p.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
    if x_label:
        p.append(
            f'<text x="{left + pw / 2:.0f}" y="{top + ph + 52}" font-size="18" text-anchor="middle" fill="{INK}">{_esc(x_label)}</text>'
        )
    if y_label:
        p.append(
            f'<text transform="translate(20,{top + ph / 2:.0f}) rotate(-90)" font-size="18" text-anchor="middle" '
            f'fill="{INK}">{_esc(y_label)}</text>'
        )
    for x, lo, hi, color, opacity in bands:
        if len(x) < 2:
            continue
        xs, los, his = fx(x), fy(lo), fy(hi)
        poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, his, strict=True))
        poly += " " + " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs[::-1], los[::-1], strict=True))
        p.append(f'<polygon points="{poly}" fill="{color}" fill-opacity="{opacity}" stroke="none" data-band="1"/>')
    for at, text in marks:
        if x_min <= at <= x_max:
            xx = float(fx(at))
            p.append(
                f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{top + ph}" stroke="{INK}" stroke-width="2.5" '
                f'stroke-dasharray="2 5" data-mark="1"/>'
                f'<text x="{xx + 6:.1f}" y="{top + 22}" font-size="18" fill="{INK}">{_esc(text)}</text>'
            )
    p.append(
        f'<clipPath id="clip-{_esc(test_id)}"><rect x="{left}" y="{top - 3}" width="{pw}" height="{ph + 6}"/></clipPath>'
    )
    p.append(f'<g clip-path="url(#clip-{_esc(test_id)})">')
    for ln in lines:
        if len(ln.x) == 0:
            continue
        xs, ys = fx(ln.x), fy(ln.y)
        pts: list[str]
        if ln.step:
            pts = [f"{xs[0]:.1f},{ys[0]:.1f}"]
            for k in range(1, len(xs)):
                pts.append(f"{xs[k]:.1f},{ys[k - 1]:.1f}")
                pts.append(f"{xs[k]:.1f},{ys[k]:.1f}")
        else:
            pts = [f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True)]
        dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
        p.append(
            f'<polyline points="{" ".join(pts)}" fill="none" stroke="{ln.color}" stroke-width="{ln.width}"{dash} '
            f'stroke-linejoin="round" data-line="{_esc(ln.label)}"/>'
        )
    p.append("</g>")
    col_w = (width - left) / cols
    for k, ln in enumerate(shown):
        x0 = left + col_w * (k % cols)
        yy = height - legend_h + 24 + 30 * (k // cols)
        dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
        p.append(
            f'<line x1="{x0:.0f}" x2="{x0 + 36:.0f}" y1="{yy - 6}" y2="{yy - 6}" stroke="{ln.color}" '
            f'stroke-width="{ln.width}"{dash}/>'
            f'<text x="{x0 + 44:.0f}" y="{yy}" font-size="18" fill="{INK}">{_esc(ln.label)}</text>'
        )
    p.append("</svg>")
    return "".join(p)


# ---------------------------------------------------------------------- statistics
def km_steps(hours: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier survival (share not yet diagnosed): times and S just after each, starting at (0, 1)."""
    from scipy import stats

    hours = np.asarray(hours, float)
    observed = np.asarray(observed, bool)
    if hours.size == 0 or not observed.any():
        return np.array([0.0]), np.array([1.0])
    sf = stats.ecdf(stats.CensoredData(uncensored=hours[observed], right=hours[~observed])).sf
    return np.concatenate([[0.0], sf.quantiles]), np.concatenate([[1.0], sf.probabilities])


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float, float]:
    """Proportion ``k/n`` with its Wilson score interval (95% by default)."""
    if n <= 0:
        return float("nan"), 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return p, max(0.0, centre - half), min(1.0, centre + half)
