"""The teaching page (Solara). ``qunsim demo`` serves it; each browser tab gets its own
:class:`~sim.demo.page.Demo` (its own models), stepped in a background thread while playing.

Layout: a control panel on the left (play, pause, step, reset, speed, seed, presets,
settings, the intervention arm); on the right the tabs Live, Many seeds, Lessons, Export.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import reacton.core
import solara
import solara.lab

from . import controls, ensemble, export
from .i18n import clock, item_label, tr
from .lessons import LESSONS, SECTIONS, lesson
from .page import Demo, Snapshot, arm_title, render_curves, render_diff, render_fan, render_km, render_network
from .panel import ControlPanel, html_box

_IDLE: dict[str, Any] = {"status": "idle"}
TICK_SECONDS = 0.25
TICK_GATE = threading.BoundedSemaphore(2)

CSS = """
.qs-root { font-size: 19px; color: #111; line-height: 1.35; }
.qs-root .v-btn { font-size: 18px !important; text-transform: none !important; letter-spacing: 0 !important; }
.qs-root .v-label, .qs-root .v-select__selection, .qs-root input { font-size: 18px !important; color: #111 !important; }
.qs-root .v-tab { font-size: 19px !important; text-transform: none !important; color: #111 !important; }
.qs-panel { width: 360px; min-width: 360px; padding: 10px 14px; border-right: 2px solid #ddd; }
.qs-main { flex: 1; min-width: 0; padding: 6px 12px; }
.qs-help { font-size: 15px; color: #333; margin: -14px 0 12px 0; }
.qs-ctl-label { font-size: 18px; margin-top: 6px; }
.qs-root .v-input--switch .v-label { font-size: 18px !important; }
.qs-title { font-size: 28px; font-weight: 700; margin: 4px 0 0 0; }
.qs-sub { font-size: 17px; color: #333; }
.qs-arms { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 14px; }
.qs-arm h3 { font-size: 23px; margin: 6px 0; }
.qs-mon { display: flex; flex-wrap: wrap; gap: 8px; margin: 4px 0 8px 0; }
.qs-mon div { border: 2px solid #111; border-radius: 6px; padding: 2px 8px; font-size: 18px; background: #fff; }
.qs-mon b { font-size: 22px; }
.qs-feed { font-size: 17px; margin: 4px 0; padding-left: 20px; }
.qs-feed li { margin: 2px 0; }
.qs-warn { background: #FFF3C4; border: 2px solid #E69F00; padding: 6px 10px; border-radius: 6px; font-size: 17px; }
.qs-lesson h4 { font-size: 21px; margin: 12px 0 4px 0; }
.qs-lesson p, .qs-lesson li { font-size: 19px; }
.qs-predict { background: #E8F4FB; border-left: 6px solid #0072B2; padding: 8px 12px; }
"""


def _base():
    """The scenario the server was started with (``QUNSIM_DEMO_SCENARIO``; default: classroom)."""
    from ..config import load_scenario
    from ..paths import shipped_scenario

    path = os.environ.get("QUNSIM_DEMO_SCENARIO") or str(shipped_scenario("classroom"))
    return load_scenario(path)


_html = html_box


def _fmt_pct(x: float) -> str:
    return f"{x:.0%}"


@solara.component
def Monitors(snap: Snapshot, arm_index: int, item: str, lang: str):
    arm = snap.arms[arm_index]
    it = snap.item(item)
    n = snap.n
    cells = [(tr("mon.day", lang), clock(arm.t, lang), f"day-{arm.name}")]
    counts = arm.counts[it.name]
    if it.kind == "rumor":
        cells.append((tr("mon.believes", lang), f"{counts['believes']}", f"believes-{arm.name}"))
        cells.append((tr("mon.corrected", lang), f"{counts['corrected']}", f"corrected-{arm.name}"))
        cells.append((tr("mon.peak", lang), _fmt_pct(arm.peak.get(it.name, 0.0)), f"peak-{arm.name}"))
    else:
        aware = n - counts["unaware"]
        cells.append((tr("mon.aware", lang), f"{aware}", f"aware-{arm.name}"))
        if "adopted" in counts:
            cells.append((tr("mon.adopted", lang), f"{counts['adopted']}", f"adopted-{arm.name}"))
        half = arm.half_day.get(it.name)
        cells.append(
            (tr("mon.half", lang), tr("mon.not_yet", lang) if half is None else f"{half:.1f}", f"half-{arm.name}")
        )
    if arm.cases is not None:
        c = arm.cases
        cells.append((tr("mon.cases", lang), f"{c['hours'].size} / {int(c['observed'].sum())}", f"cases-{arm.name}"))
    html = "".join(f'<div>{label}: <b data-testid="{tid}">{value}</b></div>' for label, value, tid in cells)
    _html(html, f"monitors-{arm.name}", ["qs-mon"])


@solara.component
def Feed(snap: Snapshot, arm_index: int, lang: str):
    from .i18n import feed_line

    arm = snap.arms[arm_index]
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{tr('feed.title', lang)}</b>")
    if not arm.feed:
        _html(f"<i>{tr('feed.empty', lang)}</i>", f"feed-{arm.name}", ["qs-feed"])
        return
    items = "".join(f"<li>{clock(e.t, lang)}: {feed_line(e, lang)}</li>" for e in arm.feed)
    _html(f"<ul>{items}</ul>", f"feed-{arm.name}", ["qs-feed"])


@solara.component
def ArmColumn(snap: Snapshot, k: int, item: str, lang: str, svgs: dict, with_curves: bool = True):
    arm = snap.arms[k]
    solara.HTML(tag="h3", unsafe_innerHTML=arm_title(arm, lang))
    Monitors(snap, k, item, lang)
    net = svgs["net"][k]
    with solara.Div(style="position: relative"):
        _html(net.background, f"netbg-{arm.name}")
        solara.HTML(
            tag="div",
            unsafe_innerHTML=net.foreground,
            attributes={"data-testid": f"net-{arm.name}"},
            style="position: absolute; left: 0; top: 0; width: 100%",
        )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=tr("tier_shapes", lang)
        + " · "
        + tr("network.legend_groups", lang)
        + " · "
        + tr("network.legend_posts", lang),
        classes=["qs-help"],
        style="margin:2px 0 8px 0",
    )
    if with_curves:
        _html(svgs["curves"][k], f"curvebox-{arm.name}")
        Feed(snap, k, lang)


@solara.component
def LiveView(snap_r, item: str, lang: str):
    """The live tab. It alone (with the Header) reads the snapshot, so a tick re-renders
    only these: the tabs, the item switch and the control panel stay as they are."""
    snap: Snapshot = snap_r.value
    svgs: dict[str, Any] = solara.use_memo(
        lambda: {
            "net": [render_network(snap, a, item, lang) for a in snap.arms],
            "curves": [render_curves(snap, a, item, lang) for a in snap.arms],
            "diff": render_diff(snap, item, lang),
            "km": render_km(snap, lang),
        },
        [snap.version, item, lang],
    )

    def km():
        if svgs["km"] is not None:
            _html(svgs["km"], "kmbox")
        else:
            off = snap.arms[0].cases is None
            solara.HTML(tag="p", unsafe_innerHTML=tr("km.off" if off else "km.none", lang))

    if len(snap.arms) == 1:
        with solara.Div(classes=["qs-arms"]):
            with solara.Div(classes=["qs-arm"]):
                ArmColumn(snap, 0, item, lang, svgs, with_curves=False)
                Feed(snap, 0, lang)
            with solara.Div():
                _html(svgs["curves"][0], "curvebox-baseline")
                km()
                solara.HTML(
                    tag="p", unsafe_innerHTML=tr("diff.none", lang), classes=["qs-help"], style="margin-top:8px"
                )
        return
    with solara.Div(classes=["qs-arms"]):
        for k in range(len(snap.arms)):
            with solara.Div(classes=["qs-arm"]):
                ArmColumn(snap, k, item, lang, svgs)
    with solara.Div(classes=["qs-arms"]):
        with solara.Div():
            _html(svgs["diff"], "diffbox")
        with solara.Div():
            km()


def _many_work(demo: Demo, snap: Snapshot, item: str, state, cancel: threading.Event) -> None:
    """One press of the many-seed button: queue the runs, report progress, summarise."""
    limit = controls.LIMITS
    with demo.lock:
        arms = {"baseline": demo.scenario_baseline}
        if demo.scenario_intervention is not None:
            arms["intervention"] = demo.scenario_intervention
        seed = demo.scenario_baseline.run.seed  # the page's run (as last reset) is the first of the fifty
        seeds = list(range(seed, seed + limit.many_seeds))
        it = snap.item(item)
        kinds = {a.name: a.intervention for a in snap.arms}
    if ensemble.busy():
        state.set({"status": "busy"})
        return
    job = ensemble.start(arms, seeds, it.name)
    state.set({"status": "running", "done": 0, "total": job.total})

    def progress(d, n):
        state.set({"status": "running", "done": d, "total": n})

    try:
        runs = job.wait(on_progress=progress, should_stop=cancel.is_set)
    except Exception as exc:  # a worker failed: say so on the page
        state.set({"status": "error", "error": str(exc)})
        return
    if runs is None:
        return
    summaries = {arm: ensemble.summarise(r, it.kind) for arm, r in runs.items()}
    state.set(
        {
            "status": "done",
            "summaries": summaries,
            "item": it,
            "elapsed": job.elapsed,
            "interventions": kinds,
            "duration": snap.duration,
            "start_day": snap.start_day,
        }
    )


def _arm_name(intervention: str | None, lang: str) -> str:
    if intervention is None:
        return tr("arm.baseline", lang)
    return tr("arm.intervention", lang, name=tr(f"iv.{intervention}", lang))


@solara.component
def ManyView(snap_r, lang: str, state, on_run):
    """The many-seed view. Its state and its worker thread live in the Page, so a run goes on
    while the class looks at another tab."""
    snap: Snapshot = snap_r.value
    limit = controls.LIMITS
    st = state.value
    too_big = snap.n > limit.max_many_seed_clinicians
    solara.HTML(tag="h3", unsafe_innerHTML=tr("many.title", lang, n=limit.many_seeds), style="font-size:24px")
    solara.HTML(tag="p", unsafe_innerHTML=tr("many.explain", lang))
    if too_big:
        solara.HTML(
            tag="p", unsafe_innerHTML=tr("many.too_big", lang, n=limit.max_many_seed_clinicians), classes=["qs-warn"]
        )
    solara.Button(
        tr("btn.run_many", lang, n=limit.many_seeds),
        color="primary",
        classes=["qs-run-many"],
        disabled=too_big or st["status"] == "running",
        on_click=on_run,
    )
    if st["status"] == "idle":
        solara.HTML(tag="p", unsafe_innerHTML=tr("many.idle", lang))
    elif st["status"] == "busy":
        solara.HTML(tag="p", unsafe_innerHTML=tr("many.queued", lang), classes=["qs-warn"])
    elif st["status"] == "error":
        solara.HTML(tag="p", unsafe_innerHTML=tr("many.error", lang, err=st["error"]), classes=["qs-warn"])
    elif st["status"] == "running":
        done, total = st.get("done", 0), st.get("total", 1)
        solara.ProgressLinear(value=100 * done / max(total, 1), color="primary")
        _html(tr("many.progress", lang, done=done, total=total), "many-progress")
    else:
        it = st["item"]
        titles = {arm: _arm_name(iv, lang) for arm, iv in st["interventions"].items()}
        svg = render_fan(st["summaries"], it, st["duration"], lang, st["start_day"], titles)
        solara.HTML(tag="div", unsafe_innerHTML=svg, attributes={"data-testid": "fanbox"}, style="max-width: 1100px")
        rule = tr("many.rule_rumor" if it.kind == "rumor" else "many.rule_guideline", lang)
        lines = [f"<p><b>{tr('many.takeoff', lang, rule=rule)}</b></p><ul>"]
        for arm, s in st["summaries"].items():
            lines.append(
                "<li>"
                + tr(
                    "many.prob",
                    lang,
                    arm=titles.get(arm, arm),
                    k=s.took_off,
                    n=s.n,
                    p=_fmt_pct(s.p),
                    lo=_fmt_pct(s.lo),
                    hi=_fmt_pct(s.hi),
                )
                + "</li>"
            )
        lines.append(f"</ul><p>{tr('many.seconds', lang, s=st['elapsed'] or 0.0)}</p>")
        _html("".join(lines), "takeoff")


@solara.component
def LessonView(lang: str, on_load):
    key, set_key = solara.use_state(LESSONS[0].key)
    titles = [ls.title[lang] for ls in LESSONS]
    current = lesson(key)
    solara.Select(
        tr("lesson.pick", lang),
        values=titles,
        value=current.title[lang],
        on_value=lambda t: set_key(LESSONS[titles.index(t)].key),
    )
    solara.Button(
        tr("btn.load_lesson", lang), color="primary", classes=["qs-load-lesson"], on_click=lambda: on_load(current)
    )
    parts = ['<div class="qs-lesson">']
    for sec in SECTIONS:
        value = current.section(sec, lang)
        label = tr(f"lesson.{sec}", lang)
        if isinstance(value, list):
            body = "<ul>" + "".join(f"<li>{v}</li>" for v in value) + "</ul>"
        else:
            body = f"<p>{value}</p>"
        cls = ' class="qs-predict"' if sec == "predict" else ""
        parts.append(f"<div{cls}><h4>{label}</h4>{body}</div>")
    parts.append("</div>")
    _html("".join(parts), "lesson-text")


@solara.component
def ExportView(demo: Demo, item_ref, lang: str):
    def png():
        with demo.lock:
            snap = demo.snapshot()
        return export.png_bytes(snap, item_ref.current, lang_ref.current)

    def csv():
        with demo.lock:
            return export.csv_bytes(demo)

    def toml_base():
        with demo.lock:
            return export.toml_text(demo, "baseline")

    def toml_iv():
        with demo.lock:
            return export.toml_text(demo, "intervention")

    lang_ref = solara.use_ref(lang)
    lang_ref.current = lang
    fns = solara.use_memo(lambda: (png, csv, toml_base, toml_iv), [])
    name = demo.scenario_baseline.run.name
    solara.HTML(tag="p", unsafe_innerHTML=tr("export.explain", lang, file=f"{name}-seed{demo.seed}.toml"))
    with solara.Row():
        solara.FileDownload(
            fns[0], filename=f"{name}-seed{demo.seed}.png", label=tr("export.png", lang), mime_type="image/png"
        )
        solara.FileDownload(
            fns[1], filename=f"{name}-seed{demo.seed}.csv", label=tr("export.csv", lang), mime_type="text/csv"
        )
    with solara.Row():
        solara.FileDownload(
            fns[2],
            filename=f"{name}-seed{demo.seed}.toml",
            label=tr("export.toml_base", lang),
            mime_type="application/toml",
        )
        if demo.scenario_intervention is not None:
            solara.FileDownload(
                fns[3],
                filename=f"{demo.scenario_intervention.run.name}-seed{demo.seed}.toml",
                label=tr("export.toml_iv", lang),
                mime_type="application/toml",
            )


@solara.component
def Header(demo: Demo, snap, lang):
    s, L = snap.value, lang.value
    with solara.Row(
        style="align-items: center; justify-content: space-between; padding: 4px 12px; border-bottom: 2px solid #ddd"
    ):
        with solara.Div():
            solara.HTML(tag="div", unsafe_innerHTML=tr("title", L), classes=["qs-title"])
            _html(
                tr("subtitle", L, scenario=demo.name, n=s.n, seed=s.seed)
                + " · "
                + clock(s.t, L)
                + (" · " + tr("finished", L) if s.done else ""),
                "subtitle",
                ["qs-sub"],
            )
        solara.Button(
            tr("lang", L), classes=["qs-lang"], outlined=True, on_click=lambda: lang.set("zh" if L == "en" else "en")
        )


@solara.component
def Main(demo: Demo, snap, lang: str, item, tab, many, on_run_many, on_load_lesson, item_ref):
    """The item switch and the tabs. A tick re-renders only the Header and the view that
    reads the snapshot (Live or Many seeds), not this, nor the control panel."""
    # peek: the items are the same at every tick (a tick must not re-render the tabs)
    s, L = snap.peek(), lang
    if s.items:
        labels = [item_label(it.name, it.kind, L) for it in s.items]
        names = [it.name for it in s.items]
        cur = labels[names.index(item.value)] if item.value in names else labels[0]
        with solara.Row(style="align-items: center"):
            solara.HTML(tag="span", unsafe_innerHTML=tr("color_by", L) + ":", style="font-size:18px")
            solara.ToggleButtonsSingle(
                value=cur, values=labels, on_value=lambda v: item.set(names[labels.index(v)]), classes=["qs-item"]
            )
    with solara.lab.Tabs(value=tab.value, on_value=tab.set, lazy=True):
        with solara.lab.Tab(tr("tab.live", L)):
            LiveView(snap, item.value, L)
        with solara.lab.Tab(tr("tab.many", L)):
            ManyView(snap, L, many, on_run_many)
        with solara.lab.Tab(tr("tab.lessons", L)):
            LessonView(L, on_load_lesson)
        with solara.lab.Tab(tr("tab.export", L)):
            ExportView(demo, item_ref, L)


@solara.component
def Page():
    demo: Demo = solara.use_memo(lambda: Demo(_base()), [])
    lang = solara.use_reactive("en")
    first = solara.use_memo(demo.snapshot, [])
    snap = solara.use_reactive(first)
    playing = solara.use_reactive(False)
    finished = solara.use_reactive(False)
    speed = solara.use_reactive(6)
    rev = solara.use_reactive(0)
    tab = solara.use_reactive(0)
    item = solara.use_reactive(first.items[0].name if first.items else "")
    item_ref = solara.use_ref(item.value)
    item_ref.current = item.value
    many = solara.use_reactive(_IDLE)
    many_request = solara.use_reactive(0)

    # this session's render context: a tick's changes are rendered in one pass (without it,
    # each component that reads the snapshot would start a render of its own)
    batch = solara.use_memo(lambda: reacton.core.get_render_context(required=False) or contextlib.nullcontext(), [])

    def show(s: Snapshot) -> None:
        with batch:
            snap.set(s)
            finished.set(s.done)

    def play(cancel: threading.Event):
        while playing.value and not cancel.is_set():
            t0 = time.perf_counter()
            with TICK_GATE:  # a full class shares the server: at most two ticks are computed at once
                with demo.lock:
                    demo.advance(hours=speed.value)
                    s = demo.snapshot()
                show(s)  # renders the page's update in this thread
            if s.done:
                playing.set(False)
                return
            busy = time.perf_counter() - t0
            # leave the server idle for at least half the time this tick took: under load every
            # session slows down a little and none starves the web server's own loop
            cancel.wait(max(TICK_SECONDS - busy, 0.5 * busy, 0.02))

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)

    def many_work(cancel: threading.Event):
        if many_request.value:
            _many_work(demo, snap.value, item.value, many, cancel)

    solara.use_thread(many_work, dependencies=[many_request.value], intrusive_cancel=False)

    def on_step():
        with demo.lock:
            demo.advance(hours=speed.value)  # one tick, as Play makes them
            show(demo.snapshot())

    def on_reset():
        playing.set(False)
        with demo.lock:
            demo.reset()
            show(demo.snapshot())
        if many.value.get("status") != "running":
            many.set(_IDLE)  # the results belonged to the settings before the reset
        rev.set(rev.value + 1)

    def load_lesson(ls):
        playing.set(False)
        with demo.lock:
            values = controls.default_values(demo.base)
            values.update({k: v for k, v in ls.settings.items() if k in values})
            demo.values = values
            ivs = [iv.key for iv in controls.interventions_for(demo.base)]
            demo.intervention = ls.intervention if ls.intervention in ivs else None
            demo.start_day = ls.start_day
            demo.reset()
            show(demo.snapshot())
        if many.value.get("status") != "running":
            many.set(_IDLE)
        for it in snap.value.items:
            if it.kind == ls.item_kind:
                item.set(it.name)
                break
        rev.set(rev.value + 1)
        tab.set(ls.tab)

    L = lang.value
    solara.Style(CSS)
    solara.Title("qunsim demo")
    with solara.Div(classes=["qs-root"]):
        Header(demo, snap, lang)
        with solara.Row(style="align-items: flex-start; flex-wrap: nowrap"):
            with solara.Div(classes=["qs-panel"]):
                ControlPanel(demo, L, playing, speed, rev, finished, on_reset, on_step)
            with solara.Div(classes=["qs-main"]):
                Main(
                    demo,
                    snap,
                    L,
                    item,
                    tab,
                    many,
                    lambda: many_request.set(many_request.value + 1),
                    load_lesson,
                    item_ref,
                )
