"""The parameter reference, generated from the scenario schema (``qunsim params``)."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from .schema import Section

__all__ = ["parameter_rows", "parameter_markdown"]

UNITS = {"_minutes": "minutes", "_hours": "hours", "_days": "days", "_per_day": "per day",
         "_per_year": "per year", "_hour": "hour of day", "_prob": "probability", "_share": "share"}


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


def parameter_rows(model: type[Section] | None = None, prefix: str = "") -> list[dict]:
    if model is None:
        from .config import Scenario
        model = Scenario
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        sub, suffix = _section_type(field.annotation)
        if sub is not None and sub is not model:
            rows.extend(parameter_rows(sub, f"{path}{suffix}."))
            continue
        default = field.get_default(call_default_factory=True)
        rows.append({
            "setting": path,
            "default": "(required)" if field.is_required() else repr(default),
            "allowed": _bounds(field) or _type_name(field.annotation),
            "unit": _unit(name),
            "meaning": (field.description or "").replace("|", "/"),
        })
    return rows


def _type_name(annotation) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("|", "or")


def parameter_markdown() -> str:
    lines = [
        "# Parameter reference",
        "",
        "Generated from the scenario schema by `qunsim params` (a test keeps this file current).",
        "Every setting of a scenario file, with its default, the values allowed, its unit and",
        "meaning. Sources of defaults are given in the meanings and in `docs/model.md`.",
        "",
        "| setting | default | allowed | unit | meaning |",
        "|---|---|---|---|---|",
    ]
    for r in parameter_rows():
        default = r["default"] if len(r["default"]) <= 60 else r["default"][:57] + "..."
        lines.append(f"| `{r['setting']}` | `{default}` | {r['allowed']} | {r['unit']} | {r['meaning']} |")
    return "\n".join(lines) + "\n"
