"""The cost table of a run: the quantities the other processes produced, times the prices.

At the end of a run, from the diagnosis process's ``answers`` and ``cases`` tables and the
information process's message counts:

* **expert time on duty / off duty**: the minutes of every answer, by the tier of the
  answerer's facility, at ``clinician_hour[tier]``; off duty times ``offduty_multiplier``;
* **referral travel**: each referral hop of a case, by the tier of the facility the case
  arrived at, at ``referral_travel[tier]``; **referral visits**: each visit made, at
  ``referral_visit``;
* **reading**: every message of a group or contact that was read, at
  ``reading_minutes_per_message`` of the population's mean hourly cost (reads are
  counted in total, not per reader);
* **message volume** (quantities only): group posts, 1-on-1 messages and diagnostic
  requests.

The table ``cost`` has one row per (component, tier): ``quantity``, ``unit``,
``unit_cost_cny`` and ``cost_cny``. Metrics (prefix ``cost``): ``total_cny``, each
component's cost by tier, ``per_case_cny`` and ``per_diagnosis_cny``. The process draws
no random number and changes nothing: switching it off changes no other output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...components import Component, Outputs
from ...schema import TIERS

if TYPE_CHECKING:  # pragma: no cover
    from ...model import QunModel

__all__ = ["CostProcess", "cost_rows"]

COLUMNS = ["component", "tier", "quantity", "unit", "unit_cost_cny", "cost_cny"]


def _per_tier(section) -> np.ndarray:
    return np.array([getattr(section, t) for t in TIERS], dtype=float)


def cost_rows(
    cfg, pop, answers: pd.DataFrame | None, cases: pd.DataFrame | None, counts: dict[str, int]
) -> pd.DataFrame:
    """The cost table from a run's quantities (see the module's docstring)."""
    hour = _per_tier(cfg.clinician_hour)
    rows: list[tuple] = []
    if answers is not None:
        tier = pop.fac_tier[pop.facility[answers["expert"].to_numpy()]]
        hours = answers["minutes"].to_numpy(float) / 60.0
        off = answers["offhours"].to_numpy(bool)
        for t, name in enumerate(TIERS):
            mine = tier == t
            on_h, off_h = float(hours[mine & ~off].sum()), float(hours[mine & off].sum())
            rows.append(("expert_time_on_duty", name, on_h, "hours", hour[t], on_h * hour[t]))
            price = hour[t] * cfg.offduty_multiplier
            rows.append(("expert_time_off_duty", name, off_h, "hours", price, off_h * price))
    if cases is not None:
        travel = _per_tier(cfg.referral_travel)
        tier = cases["tier"].cat.codes.to_numpy()
        hops = cases["referral_hops"].to_numpy(float)
        visits = np.isfinite(cases["t_referral_visit"].to_numpy(float))
        for t, name in enumerate(TIERS):
            mine = tier == t
            n_hops = float(np.nansum(np.clip(hops[mine], 0, None)))
            rows.append(("referral_travel", name, n_hops, "hops", travel[t], n_hops * travel[t]))
            n_visits = float(visits[mine].sum())
            rows.append(
                ("referral_visits", name, n_visits, "visits", cfg.referral_visit, n_visits * cfg.referral_visit)
            )
    shares = np.bincount(pop.fac_tier[pop.facility], minlength=3) / max(pop.n, 1)
    # the mean hourly price over the tiers, summed in order (a BLAS dot product's rounding
    # depends on the kernel the library picks for the processor)
    per_read = (
        cfg.reading_minutes_per_message / 60.0 * sum(float(s) * float(h) for s, h in zip(shares, hour, strict=True))
    )
    if "read" in counts:
        rows.append(("reading", "all", float(counts["read"]), "messages read", per_read, counts["read"] * per_read))
    for key, component, unit in (
        ("posts", "group_posts", "posts"),
        ("direct", "direct_messages", "messages"),
        ("requests", "diagnostic_requests", "requests"),
    ):
        if key in counts:
            rows.append((component, "all", float(counts[key]), unit, 0.0, 0.0))
    return pd.DataFrame(rows, columns=COLUMNS)


class CostProcess(Component):
    name = "cost"
    affects = ()  # changes nothing
    reads = ("information", "diagnosis")  # reports on their outputs at the end

    def idle(self) -> bool:
        return True  # it does nothing during the run (run.stop_when_idle must not wait for it)

    def finish(self, model: QunModel, out: Outputs) -> None:
        counts: dict[str, int] = {}
        # both processes keep their counts in a public ``counters`` dict
        running: dict[str, Any] = {p.name: p for p in model.processes}
        if "information" in running:
            info = running["information"].counters
            counts.update(read=int(info["read"]), posts=int(info["posts"]), direct=int(info["direct"]))
        if "diagnosis" in running:
            counts["requests"] = int(running["diagnosis"].counters["requests"])
        cases = out.frame("cases", ["tier", "referral_hops", "t_referral_visit", "resolved"])
        answers = out.frame("answers", ["expert", "minutes", "offhours"])
        table = cost_rows(self.config, model.pop, answers, cases, counts)
        out.tables["cost"] = table
        m = out.metrics
        total = float(table["cost_cny"].sum())
        m.add("cost", "total_cny", total)
        for row in table[table["unit_cost_cny"] > 0].itertuples(index=False):
            m.add("cost", f"{row.component}_cny", float(row.cost_cny), tier=None if row.tier == "all" else row.tier)
        if cases is not None:
            n, done = len(cases), int(cases["resolved"].sum())
            m.add("cost", "per_case_cny", total / n if n else None)
            m.add("cost", "per_diagnosis_cny", total / done if done else None)
        by = table.groupby("component", sort=False)["cost_cny"].sum()
        parts = ", ".join(f"{k.replace('_', ' ')} {v:,.0f}" for k, v in by.items() if v > 0)
        m.note("summary_cost", f"cost: {total:,.0f} CNY ({parts or 'nothing priced'})")
