"""The parameter reference, generated from the scenario schema (``qunsim params``)."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from .schema import Section

__all__ = ["parameter_markdown", "parameter_rows"]

UNITS = {
    "_minutes": "minutes",
    "_hours": "hours",
    "_days": "days",
    "_per_day": "per day",
    "_per_year": "per year",
    "_hour": "hour of day",
    "_prob": "probability",
    "_share": "share",
}


def _unit(name: str) -> str:
    for suffix, unit in UNITS.items():
        if name.endswith(suffix):
            return unit
    return ""


def _bounds(field) -> str:
    parts = []
    for m in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def _section_type(annotation):
    """The Section class inside an annotation (X, X | None, list[X], dict[str, X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            suffix = "[]" if origin is list else ".<key>" if origin is dict else ""
            return arg, suffix
    return None, ""


SETUP_SECTIONS = ("run", "population", "groups", "contacts")


def _allowed(field) -> str:
    """Bounds, or the listed values of a setting with a fixed set of values."""
    ann = field.annotation
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{v}`" for v in args)
    if origin in (list, tuple) or (origin is typing.Union or str(origin) == "types.UnionType"):
        for arg in args:
            if (
                typing.get_origin(arg) is list
                and typing.get_args(arg)
                and typing.get_origin(typing.get_args(arg)[0]) is typing.Literal
            ):
                return "list of " + ", ".join(f"`{v}`" for v in typing.get_args(typing.get_args(arg)[0]))
    if origin is dict and args and typing.get_origin(args[0]) is typing.Literal:
        return (
            "table with keys "
            + ", ".join(f"`{v}`" for v in typing.get_args(args[0]))
            + (f"; values {_bounds_of(args[1])}" if _bounds_of(args[1]) else "")
        )
    return _bounds(field) or _type_name(ann)


def _bounds_of(annotation) -> str:
    metadata = getattr(annotation, "__metadata__", ())
    parts = []
    for m in metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def _kind_defaults(model: type[Section], name: str) -> str | None:
    """The per-kind defaults of an information item's setting (shown instead of None)."""
    from .processes.information.config import ItemConfig, item_defaults

    if model is not ItemConfig:
        return None
    by_kind = {kind: item_defaults(kind).get(name) for kind in ("guideline", "rumor", "case_report", "correction")}
    given = {k: v for k, v in by_kind.items() if v is not None}
    return "by kind: " + ", ".join(f"{k} {v!r}" for k, v in given.items()) if given else None


def parameter_rows(model: type[Section] | None = None, prefix: str = "", setup_only: bool = False) -> list[dict]:
    if model is None:
        from .config import Scenario

        model = Scenario
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        fixed = setup_only or (not prefix and name in SETUP_SECTIONS)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        fixed = fixed or bool(extra.get("setup_only"))
        sub, suffix = _section_type(field.annotation)
        if sub is not None and sub is not model:
            default = field.get_default(call_default_factory=True)
            if suffix == ".<key>" and isinstance(default, dict) and default:
                for key in default:  # one block per key, with that key's real defaults
                    rows.extend(_keyed_rows(sub, f"{path}.{key}.", default[key], fixed))
            else:
                rows.extend(parameter_rows(sub, f"{path}{suffix}.", fixed))
            continue
        default = field.get_default(call_default_factory=True)
        shown = "(required)" if field.is_required() else repr(default)
        if default is None and not field.is_required():
            shown = _kind_defaults(model, name) or shown
        rows.append(
            {
                "setting": path,
                "default": shown,
                "allowed": _allowed(field),
                "unit": _unit(name),
                "meaning": (field.description or "").replace("|", "/") + (" *(fixed at set-up)*" if fixed else ""),
            }
        )
    return rows


def _keyed_rows(model: type[Section], prefix: str, value: BaseModel, fixed: bool) -> list[dict]:
    rows = parameter_rows(model, prefix, fixed)
    for row in rows:
        leaf = row["setting"][len(prefix) :]
        if "." not in leaf and leaf in type(value).model_fields:
            row["default"] = repr(getattr(value, leaf))
    return rows


def _type_name(annotation) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("|", "or")


def parameter_markdown() -> str:
    from .provenance import basis_of

    rows = parameter_rows()
    bases = {r["setting"]: basis_of(r["setting"]) for r in rows}
    counts = {
        b: sum(v.basis == b for v in bases.values()) for b in ("calibrated", "literature", "design", "assumption")
    }
    lines = [
        "# Parameter reference",
        "",
        "Generated from the scenario schema by `qunsim params` (a test keeps this file current).",
        "Every setting of a scenario file, with its default, the values allowed, its unit,",
        "meaning and basis. Settings marked *fixed at set-up* build the population, the groups or",
        "a process's state when the run starts: a `settings` intervention may not change them. Every",
        "other setting can be changed during a run by a `settings` intervention and takes effect",
        "from the next step.",
        "",
        "*Basis* (`sim/calibration/provenance.toml`): **calibrated** to a target of",
        "`calibration/targets.toml` (docs/calibration.md), **literature** (the source named),",
        "**design** (chosen by whoever writes the scenario or experiment: what to run, a switch,",
        "a counterfactual) or **assumption** (a modelling choice without a source yet).",
        f"Of {len(rows)} settings: {counts['calibrated']} calibrated, {counts['literature']} from the literature,",
        f"{counts['design']} design, {counts['assumption']} assumptions; the assumptions are listed,",
        "ranked by how much they move the outcomes, [at the end](#assumptions-ranked).",
        "",
        "| setting | default | allowed | unit | meaning | basis |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        default = r["default"] if len(r["default"]) <= 90 else r["default"][:87] + "..."
        default = default if default.startswith("by kind") else f"`{default}`"
        basis = bases[r["setting"]].text().replace("|", "/")
        lines.append(f"| `{r['setting']}` | {default} | {r['allowed']} | {r['unit']} | {r['meaning']} | {basis} |")
    assumptions = [s for s, b in bases.items() if b.basis == "assumption"]
    lines += ["", *_ranking_lines(assumptions)]
    return "\n".join(lines) + "\n"


def _ranking_lines(assumptions: list[str]) -> list[str]:
    """The assumptions in one place: those screened, by their mean normalised mu*, then the rest."""
    from .provenance import load_ranking

    lines = ["## Assumptions, ranked", ""]
    ranking = load_ranking()
    screened: list[str] = []
    if ranking is None:
        lines += ["No screening recorded yet (`experiments/assumption_ranking.toml`).", ""]
    else:
        outs = ranking["outputs"]
        lines += [
            f"Morris screening of `{ranking['scenario']}` ({ranking['runs']} runs, commit `{ranking['commit']}`;",
            f"`{ranking['command']}`). *Score*: the mean over the outputs of mu* divided by the largest mu*",
            "of that output, so 1 is the most influential setting of every output (mu* on the unit scale of",
            "each setting's range in the sweep file; its bootstrap interval is in the sweep's indices.csv).",
            "Read it as a screening, not a measurement: with one replicate per point, an output that",
            "sometimes fails to take off (the guideline stays unadopted in a few runs) gives noisy",
            "elementary effects, and because the items of a run share one random stream, a setting of",
            "the rumor (`information.beta`) moves the guideline's run too. Per output, mu* / max mu*:",
            "",
            "| rank | setting | score | " + " | ".join(f"`{o}`" for o in outs) + " |",
            "|---|---|---|" + "---|" * len(outs),
        ]
        for k, row in enumerate(ranking["rows"], 1):
            cells = " | ".join(f"{row['per_output'][o]:.2f}" for o in outs)
            lines.append(f"| {k} | `{row['setting']}` | {row['score']:.2f} | {cells} |")
            screened.append(row["setting"])
        lines.append("")
    rest = [s for s in assumptions if s not in screened]
    lines += [f"Not screened yet ({len(rest)}): " + ", ".join(f"`{s}`" for s in rest) + ".", ""]
    return lines
