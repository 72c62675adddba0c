"""The control panel of the teaching page: play, pause, step, reset, speed, the seed,
presets, the key settings as bounded sliders and switches (one line of help each) and the
intervention arm with its start day. The settings live in the page's
:class:`~sim.demo.page.Demo`; a change bumps ``rev`` so the panel re-renders, and takes
effect at the next reset (the panel says so).
"""

from __future__ import annotations

import solara

from . import controls
from .i18n import tr
from .page import Demo

__all__ = ["SPEEDS_HOURS", "ControlPanel", "html_box"]

#: hours of model time per tick (the speed select)
SPEEDS_HOURS = (1, 3, 6, 12, 24)


def html_box(html: str, test_id: str, classes: list[str] | None = None):
    """A div of trusted HTML (made by the page itself) that tests find by ``data-testid``."""
    return solara.HTML(tag="div", unsafe_innerHTML=html, attributes={"data-testid": test_id}, classes=classes or [])


_html = html_box


@solara.component
def ControlPanel(demo: Demo, lang: str, playing, speed, rev, finished, on_reset, on_step):
    base = demo.base
    limit = controls.LIMITS
    _ = rev.value  # the settings live in `demo`; a change bumps `rev` and re-renders this panel

    def changed():
        rev.set(rev.value + 1)

    with solara.Row(style="flex-wrap: wrap; gap: 6px"):
        solara.Button(
            tr("btn.pause" if playing.value else "btn.play", lang),
            color="primary",
            classes=["qs-play"],
            on_click=lambda: playing.set(not playing.value),
            disabled=finished.value,
        )
        solara.Button(
            tr("btn.step", lang), classes=["qs-step"], on_click=on_step, disabled=playing.value or finished.value
        )
        solara.Button(tr("btn.reset", lang), classes=["qs-reset"], on_click=on_reset)
    solara.Select(
        tr("speed", lang),
        values=[str(h) for h in SPEEDS_HOURS],
        value=str(speed.value),
        on_value=lambda v: speed.set(int(v)),
        classes=["qs-speed"],
    )
    solara.HTML(tag="div", unsafe_innerHTML=tr("help.speed", lang), classes=["qs-help"])
    # always present (hidden when clean): the panel's children keep their places, so a slider
    # being dragged is never replaced under the pointer
    dirty = demo.dirty
    solara.HTML(
        tag="div",
        unsafe_innerHTML=tr("settings_changed", lang) if dirty else "",
        attributes={"data-testid": "dirty", "data-dirty": "1" if dirty else "0"},
        classes=["qs-warn"] if dirty else [],
        style=None if dirty else "display:none",
    )

    def set_seed(v):
        demo.seed = int(min(max(int(v or 0), 0), limit.max_seed))
        changed()

    solara.InputInt(tr("seed", lang), value=demo.seed, on_value=set_seed, classes=["qs-seed"])
    solara.HTML(tag="div", unsafe_innerHTML=tr("help.seed", lang), classes=["qs-help"])
    preset_labels = [tr(f"preset.{k}", lang) for k in controls.PRESETS]

    def set_preset(label):
        key = list(controls.PRESETS)[preset_labels.index(label)]
        values = controls.default_values(base)
        values.update(controls.PRESETS[key])
        demo.values = {k: v for k, v in values.items() if k in {c.key for c in controls.controls_for(base)}}
        changed()

    solara.Select(tr("preset", lang), values=preset_labels, value=None, on_value=set_preset)
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{tr('settings', lang)}</b>", style="margin-top:8px")
    for c in controls.controls_for(base):
        value = demo.values.get(c.key)
        if value is None:
            continue

        def setter(v, c=c):
            new, old = controls.clamp(c, v), demo.values.get(c.key)
            if c.kind != "bool" and old is not None and abs(float(new) - float(old)) < c.step / 2:
                return  # a slider snapping a value that lies between its steps is not a change
            demo.values[c.key] = new
            changed()

        label = tr(f"ctl.{c.key}", lang)
        if c.kind == "bool":
            solara.Switch(label=label, value=bool(value), on_value=setter, classes=[f"qs-ctl-{c.key}"])
        else:
            shown = f"{value:g}" if c.kind == "float" else f"{int(value)}"
            _html(f"{label}: <b>{shown}</b>", f"ctl-{c.key}", ["qs-ctl-label"])
            with solara.Div(classes=[f"qs-ctl-{c.key}"]):
                if c.kind == "int":
                    solara.SliderInt(
                        "",
                        value=int(value),
                        min=int(c.lo),
                        max=int(c.hi),
                        step=int(c.step),
                        on_value=setter,
                        thumb_label=False,
                    )
                else:
                    solara.SliderFloat(
                        "", value=float(value), min=c.lo, max=c.hi, step=c.step, on_value=setter, thumb_label=False
                    )
        solara.HTML(tag="div", unsafe_innerHTML=tr(f"help.{c.key}", lang), classes=["qs-help"])
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{tr('intervention', lang)}</b>", style="margin-top:8px")
    ivs = controls.interventions_for(base)
    labels = [tr("none", lang)] + [tr(f"iv.{iv.key}", lang) for iv in ivs]
    keys = [None] + [iv.key for iv in ivs]

    def set_iv(label):
        demo.intervention = keys[labels.index(label)] if label in labels else None
        changed()

    current = labels[keys.index(demo.intervention)] if demo.intervention in keys else labels[0]
    solara.Select(tr("intervention", lang), values=labels, value=current, on_value=set_iv, classes=["qs-intervention"])
    solara.HTML(
        tag="div",
        unsafe_innerHTML=tr("help.intervention", lang)
        + (" " + tr(f"ivhelp.{demo.intervention}", lang) if demo.intervention else ""),
        classes=["qs-help"],
    )

    def set_start(v):
        demo.start_day = float(min(max(int(v), 0), limit.max_duration_days))
        changed()

    _html(f"{tr('start_day', lang)}: <b>{int(demo.start_day)}</b>", "ctl-start_day", ["qs-ctl-label"])
    with solara.Div(classes=["qs-ctl-start_day"]):
        solara.SliderInt(
            "",
            value=int(demo.start_day),
            min=0,
            thumb_label=False,
            max=int(demo.values.get("duration", base.run.duration_days)),
            on_value=set_start,
        )
