"""Statistics that turn one run into the numbers a calibration target compares with the field.

Each statistic takes a run — anything with ``metrics`` (flat name -> value, as in
``metrics.json``) and ``timeseries`` (the tidy frame, or None) — and keyword arguments from
the target, and returns a float (NaN when the run cannot say, e.g. no group request was
answered). A :class:`sim.Results` works, and so does the light view the experiment layer's
executors return from a worker (numeric metrics and, when asked, the time series).

The registry :data:`STATISTICS` maps the name used in a targets file to the function and to
what it reads (``metrics`` or ``timeseries``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["STATISTICS", "RunView", "Statistic", "compute"]


@dataclass
class RunView:
    """What a statistic reads of a run: its metrics and (when kept) its tidy time series."""

    metrics: dict[str, Any]
    timeseries: Any = None


@dataclass(frozen=True)
class Statistic:
    name: str
    func: Callable[..., float]
    needs: str  # "metrics" or "timeseries"
    description: str
    arms: int = 1  # 2: the function takes (run, versus_run, **args): the target's arm and its comparison


STATISTICS: dict[str, Statistic] = {}


def _register(name: str, needs: str = "metrics", arms: int = 1):
    def deco(func: Callable[..., float]) -> Callable[..., float]:
        STATISTICS[name] = Statistic(name, func, needs, (func.__doc__ or "").strip().splitlines()[0], arms)
        return func

    return deco


def _num(metrics: dict, name: str) -> float:
    """The metric as a float; NaN when missing, None or not a number."""
    value = metrics.get(name)
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out


def _flat(prefix: str, metric: str, **dims: str | None) -> str:
    from ..results import metric_name

    return metric_name(prefix, metric, **dims)


def _probit(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


@_register("metric")
def metric(run, name: str) -> float:
    """Any metric of metrics.json by its flat name."""
    return _num(run.metrics, name)


@_register("occurs")
def occurs(run, name: str) -> float:
    """1 when a metric (by its flat name) is above 0 in the run, 0 when it is 0; for patterns that
    either happen in a run or not."""
    value = _num(run.metrics, name)
    return value if math.isnan(value) else float(value > 0)


@_register("group_first_answer_median_minutes")
def group_first_answer_median_minutes(run) -> float:
    """Median minutes from a request posted to a group to its first answer."""
    return _num(run.metrics, "dx_group_first_answer_median_minutes")


@_register("group_p_first_answer_within_hour")
def group_p_first_answer_within_hour(run) -> float:
    """Share of group requests whose first answer came within an hour."""
    return _num(run.metrics, "dx_group_p_first_answer_within_hour")


@_register("group_vs_direct_first_answer_ratio")
def group_vs_direct_first_answer_ratio(run) -> float:
    """Median first answer to a group request over that to a 1-on-1 request."""
    group = _num(run.metrics, "dx_group_first_answer_median_minutes")
    direct = _num(run.metrics, "dx_contact_first_answer_median_minutes")
    if not (direct > 0) or math.isnan(group):
        return math.nan
    return group / direct


@_register("group_route_ttd_median_hours")
def group_route_ttd_median_hours(run) -> float:
    """Median hours to diagnosis of the cases diagnosed through a group."""
    return _num(run.metrics, "dx_ttd_median_hours_route_group")


@_register("p_aware")
def p_aware(run, item: str, tier: str | None = None) -> float:
    """Share of clinicians (of a tier) aware of an item at the end of the run."""
    return _num(run.metrics, _flat("info", "p_aware", item=item, tier=tier))


@_register("p_adopted")
def p_adopted(run, item: str, tier: str | None = None) -> float:
    """Share of clinicians (of a tier) who adopted a guideline by the end of the run."""
    return _num(run.metrics, _flat("info", "p_adopted", item=item, tier=tier))


@_register("correction_effect_d")
def correction_effect_d(run, item: str) -> float:
    """Probit shift from ever believing a rumor to still believing it at the end.

    A latent-threshold reading of a standardized effect: if belief is a normal latent
    variable above a threshold, a correction that lowers it by d standard deviations
    turns the share ever believing ``p_ever`` into ``1 - Phi(Phi^-1(1 - p_ever) + d)``.
    So ``d = Phi^-1(1 - p_final) - Phi^-1(1 - p_ever)``. NaN when nobody believed; +inf
    when every believer stopped believing.
    """
    p_ever = _num(run.metrics, _flat("info", "p_ever_believed", item=item))
    p_final = _num(run.metrics, _flat("info", "p_final_believers", item=item))
    if math.isnan(p_ever) or math.isnan(p_final) or p_ever <= 0:
        return math.nan
    if p_final <= 0:
        return math.inf
    return _probit(1 - p_final) - _probit(1 - p_ever)


@_register("tier_order_aware")
def tier_order_aware(run, item: str) -> float:
    """1 when half of the tertiary, then secondary, then primary tier were aware in that order, else 0.

    A tier that never reached half is counted as reaching it after the others.
    """
    times = []
    for tier in ("tertiary", "secondary", "primary"):
        t = _num(run.metrics, _flat("info", "t50_aware", item=item, tier=tier))
        times.append(math.inf if math.isnan(t) else t)
    if all(math.isinf(t) for t in times):
        return math.nan
    return 1.0 if times[0] <= times[1] <= times[2] else 0.0


@_register("reshare_ratio")
def reshare_ratio(run, false_item: str, true_item: str) -> float:
    """How much likelier a false item is reshared than a true one, per clinician who heard it.

    For each item: the share of the clinicians who heard it who posted or sent it at least
    once (``p_shared_of_heard``); the ratio false / true. NaN when the true item was shared
    by nobody.
    """
    false_share = _num(run.metrics, _flat("info", "p_shared_of_heard", item=false_item))
    true_share = _num(run.metrics, _flat("info", "p_shared_of_heard", item=true_item))
    if math.isnan(false_share) or not true_share > 0:
        return math.nan
    return false_share / true_share


@_register("ratio_vs", arms=2)
def ratio_vs(run, versus, metric: str) -> float:
    """A metric of the target's arm over the same metric of the comparison arm (paired seed).

    NaN when either is missing or the comparison arm's value is not above 0.
    """
    a, b = _num(run.metrics, metric), _num(versus.metrics, metric)
    if math.isnan(a) or not b > 0:
        return math.nan
    return a / b


@_register("probit_shift_vs", arms=2)
def probit_shift_vs(run, versus, metric: str) -> float:
    """Probit shift of a share from the comparison arm to the target's arm: Phi^-1(versus) - Phi^-1(arm).

    The latent-threshold reading of a standardized effect d (Cohen's d): a share p0 of a
    normal latent variable above a threshold becomes ``Phi(Phi^-1(p0) - d)`` when the
    intervention lowers the variable by d standard deviations. NaN when either share is
    missing or the comparison arm's is 0 or 1; +inf when the arm's share is 0.
    """
    return _probit_shift(_num(run.metrics, metric), _num(versus.metrics, metric))


def _probit_shift(p1: float, p0: float) -> float:
    """``Phi^-1(p0) - Phi^-1(p1)``; NaN when either is missing or p0 is 0 or 1, +inf when p1 is 0."""
    if math.isnan(p1) or math.isnan(p0) or not 0 < p0 < 1:
        return math.nan
    if p1 <= 0:
        return math.inf
    return _probit(p0) - _probit(min(p1, 1.0))


def _share_at(run, metric: str, item: str, t: float) -> float:
    """The clinicians counted by the time series' ``metric`` (all tiers) for ``item`` at the
    last record at or before day ``t``, as a share of all clinicians; NaN past the last record."""
    ts = run.timeseries
    n = _num(run.metrics, "n_clinicians")
    if ts is None or not n > 0:
        return math.nan
    rows = ts[(ts["metric"] == metric) & (ts["item"] == item) & ts["tier"].isna() & ts["role"].isna()]
    if rows.empty or t > float(rows["t"].max()) + 1e-9:
        return math.nan
    before = rows[rows["t"] <= t + 1e-9]
    if before.empty:
        return math.nan
    return float(before.sort_values("t")["value"].iloc[-1]) / n


@_register("believers_shift_vs", needs="timeseries", arms=2)
def believers_shift_vs(run, versus, item: str, days: float) -> float:
    """Probit shift of the share believing a rumor, ``days`` after its first correction, from the comparison arm.

    The time is counted from the first correction of ``item`` in the target's arm (a checker's
    or the official one: ``info_<item>_start_day + info_<item>_t_first_correction``) and read from both
    arms' time series (the last record at or before it), so scenarios of any length compare
    belief at the same distance from the correction. Then as :func:`probit_shift_vs`:
    ``Phi^-1(versus) - Phi^-1(arm)``. NaN when no correction came, when the run ends before
    that time, or the comparison arm's share is 0 or 1; +inf when the arm's share is 0.
    """
    since = _num(run.metrics, _flat("info", "t_first_correction", item=item))  # days after its release
    if math.isnan(since):
        return math.nan
    t = _num(run.metrics, _flat("info", "start_day", item=item)) + since + days
    return _probit_shift(_share_at(run, "n_believes", item, t), _share_at(versus, "n_believes", item, t))


def compute(name: str, run, args: dict[str, Any] | None = None, versus=None) -> float:
    """The statistic ``name`` of ``run`` with the target's arguments (and, for a two-arm
    statistic, the comparison arm's run ``versus``)."""
    stat = STATISTICS[name]
    if stat.arms == 2:
        if versus is None:
            raise ValueError(f"statistic {name!r} compares two runs: give the comparison arm's run")
        return float(stat.func(run, versus, **(args or {})))
    return float(stat.func(run, **(args or {})))
