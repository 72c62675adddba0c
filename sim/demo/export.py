"""Downloads: the figures as PNG, the series as CSV, the settings as scenario files.

All of them are made in memory and handed to the browser; nothing is written on the server.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from .controls import scenario_toml
from .engine import TIERS
from .figures import ARM_COLORS, STATE_COLORS, TIER_COLORS, km_steps
from .i18n import item_label, state_label, tr

if TYPE_CHECKING:  # pragma: no cover
    from .page import Demo, Snapshot

__all__ = ["csv_bytes", "png_bytes", "toml_text"]

_MARKERS = ("o", "^", "D")


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(
            k in f.name for k in ("CJK SC", "CJK JP", "Source Han Sans", "WenQuanYi", "Microsoft YaHei", "PingFang")
        ):
            return f.name
    return None


def png_bytes(snap: Snapshot, item: str, lang: str = "en", dpi: int = 110) -> bytes:
    """The page's figures for ``snap``: per arm the network and the curves by tier; the
    difference between the arms and the time to diagnosis. Chinese labels need a CJK
    font; without one the PNG is labelled in English."""
    import matplotlib  # only rc_context: the caller's backend is left alone (no pyplot, no use())
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from .page import CURVE_STATES, arm_title

    font = _cjk_font() if lang == "zh" else None
    if lang == "zh" and font is None:
        lang = "en"
    rc: dict[str, Any] = {"font.size": 12}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    it = snap.item(item)
    n_arms = len(snap.arms)
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        fig = Figure(figsize=(7.5 * max(n_arms, 2), 15), dpi=dpi)
        grid = fig.add_gridspec(3, max(n_arms, 2), height_ratios=[1.25, 1, 1])
        solid, dashed = CURVE_STATES.get(it.kind, ("aware", "aware"))
        for k, arm in enumerate(snap.arms):
            ax = fig.add_subplot(grid[0, k])
            xy = snap.layout.clinicians
            gxy = snap.layout.group_xy(arm.n_groups, arm.m_clinician, arm.m_group)
            segs = (
                np.stack([xy[arm.m_clinician], gxy[arm.m_group]], axis=1)
                if arm.m_clinician.size
                else np.zeros((0, 2, 2))
            )
            ax.add_collection(LineCollection(list(segs), colors="#9A9A9A", linewidths=0.5, alpha=0.5))
            live = np.unique(arm.m_group)
            ax.scatter(gxy[live, 0], gxy[live, 1], marker="s", s=40, facecolors="white", edgecolors="#333", zorder=2)
            codes = arm.states[it.name]
            for tier_k in range(3):
                sel = snap.tier == tier_k
                cols = [STATE_COLORS.get(it.states[c], "#888") for c in codes[sel]]
                ax.scatter(
                    xy[sel, 0],
                    xy[sel, 1],
                    marker=_MARKERS[tier_k],
                    s=55,
                    c=cols,
                    edgecolors="#111",
                    linewidths=0.7,
                    zorder=3,
                )
            for s in it.states:
                ax.scatter(
                    [],
                    [],
                    marker="o",
                    s=70,
                    c=STATE_COLORS.get(s, "#888"),
                    edgecolors="#111",
                    label=f"{state_label(s, lang)} {arm.counts[it.name][s]}",
                )
            ax.legend(loc="lower left", fontsize=10, frameon=True, ncol=2)
            ax.set_title(f"{arm_title(arm, lang)} · {tr('day', lang, t=f'{arm.t:.1f}')}", fontsize=14)
            ax.set_axis_off()
            ax.set_xlim(-0.03, 1.03)
            ax.set_ylim(1.03, -0.12)
            ax2 = fig.add_subplot(grid[1, k])
            for state, style in ((solid, "-"), (dashed, "--")):
                for tier, (t, v) in arm.shares.get((state, it.name), {}).items():
                    ax2.plot(
                        t,
                        v,
                        style,
                        color=TIER_COLORS[tier],
                        lw=2.2,
                        label=f"{tr('tier.' + tier, lang)} · {state_label(state, lang)}",
                    )
                if solid == dashed:
                    break
            _marks(ax2, snap, lang)
            ax2.set_xlim(0, snap.duration)
            ax2.set_ylim(0, 1)
            ax2.set_xlabel(tr("axis.day", lang))
            ax2.set_ylabel(tr("axis.share_tier", lang))
            ax2.set_title(item_label(it.name, it.kind, lang), fontsize=13)
            ax2.grid(alpha=0.3)
            ax2.legend(fontsize=9, frameon=False)
        ax3 = fig.add_subplot(grid[2, 0])
        if n_arms == 2:
            base, iv = snap.arms
            for state, style in ((solid, "-"), (dashed, "--")):
                tb, vb = base.totals.get((state, it.name), (np.zeros(0), np.zeros(0)))
                ti, vi = iv.totals.get((state, it.name), (np.zeros(0), np.zeros(0)))
                m = min(tb.size, ti.size)
                ax3.plot(
                    tb[:m],
                    vi[:m] - vb[:m],
                    style,
                    color=ARM_COLORS["intervention"],
                    lw=2.2,
                    label=state_label(state, lang),
                )
                if solid == dashed:
                    break
            ax3.axhline(0, color="#777", lw=1)
            _marks(ax3, snap, lang)
            ax3.set_title(tr("diff.title", lang, what=item_label(it.name, it.kind, lang)), fontsize=12)
            ax3.legend(fontsize=9, frameon=False)
        else:
            ax3.text(0.5, 0.5, tr("diff.none", lang), ha="center", va="center", transform=ax3.transAxes)
        ax3.set_xlim(0, snap.duration)
        ax3.set_xlabel(tr("axis.day", lang))
        ax3.set_ylabel(tr("axis.share_all", lang))
        ax3.grid(alpha=0.3)
        ax4 = fig.add_subplot(grid[2, 1])
        drew = False
        for arm in snap.arms:
            c = arm.cases
            if c is None or c["hours"].size == 0:
                continue
            groups = (
                [(tr("tier." + tier, lang), c["tier"] == j, TIER_COLORS[tier]) for j, tier in enumerate(TIERS)]
                if n_arms == 1
                else [(arm_title(arm, lang), np.ones(c["hours"].size, bool), ARM_COLORS[arm.name])]
            )
            for label, sel, color in groups:
                if sel.any():
                    km_t, km_s = km_steps(c["hours"][sel], c["observed"][sel])
                    ax4.step(
                        np.maximum(km_t, 0.1),
                        km_s,
                        where="post",
                        color=color,
                        lw=2.2,
                        label=f"{label} (n={int(sel.sum())})",
                    )
                    drew = True
        if drew:
            ax4.set_xscale("log")
            ax4.legend(fontsize=9, frameon=False)
        else:
            ax4.text(0.5, 0.5, tr("km.none", lang), ha="center", va="center", transform=ax4.transAxes)
        ax4.set_ylim(0, 1.02)
        ax4.set_title(tr("km.title", lang), fontsize=12)
        ax4.set_xlabel(tr("axis.hours", lang))
        ax4.set_ylabel(tr("axis.not_diagnosed", lang))
        ax4.grid(alpha=0.3)
        fig.suptitle(f"qunsim · seed {snap.seed} · {snap.n} clinicians", fontsize=15)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def _marks(ax, snap: Snapshot, lang: str) -> None:
    if snap.start_day is not None:
        ax.axvline(snap.start_day, color="#111", ls=":", lw=2)
        ax.text(snap.start_day, 0.97, " " + tr("mark.start", lang), transform=ax.get_xaxis_transform(), va="top")


def csv_bytes(demo: Demo) -> bytes:
    """Both arms' series in the tidy layout of timeseries.parquet, plus ``arm`` and ``seed``."""
    return demo.timeseries().to_csv(index=False).encode("utf-8")


def toml_text(demo: Demo, arm: str = "baseline") -> str:
    """The scenario file of an arm as the page last reset it."""
    sc = demo.scenario_baseline if arm == "baseline" else demo.scenario_intervention
    if sc is None:
        raise KeyError(f"no {arm} arm")
    return scenario_toml(sc)
