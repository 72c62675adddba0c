"""The formal case-reporting chain, and how it compares with the groups.

Every case report (item of kind ``case_report``) starts a formal chain at its release:
hop ``k`` to level ``LEVELS[k]`` (facility, county, city, province, abroad) takes
``H_k = hop_hours[k] · exp(hop_sigma · Z)`` hours (Z standard normal, drawn when the hop
starts, so a ``settings`` intervention changes the hops that start after it). With
``working_hours_only`` the hours count only while administrators are on duty
(``population.work_start_hour`` to ``work_end_hour`` on the run's clock); a hop that ends
inside a step is dated by interpolation within it.

Beside it, the groups: from the information process, the first time an administrator at
a secondary facility (the county's level) or at a tertiary one (the city's) heard of the
report, and the first time a member abroad did. Outputs (prefix ``rep``, by item):
``t_formal_<level>`` and ``t_groups_<level>`` in days from the release (None when not
reached within the run), ``groups_first_<level>`` (1 when the groups got there first),
the table ``reporting`` and a summary line. Only this process's stream is drawn from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...clock import in_hours
from ...components import Component, Outputs
from ...schema import ROLES
from .config import LEVELS

if TYPE_CHECKING:  # pragma: no cover
    from ...model import QunModel
    from ...results import Recorder

__all__ = ["ReportingProcess"]

#: levels with a counterpart in the groups: (who counts as reached)
GROUP_LEVELS = ("county", "city", "abroad")


class ReportingProcess(Component):
    name = "reporting"
    affects = ()  # changes nothing in the other processes
    reads = ("information",)  # compares the chain with who heard through the groups

    def setup(self, model: QunModel) -> None:
        self.rng = model.streams(self.name)
        # the chain runs for every case report, also with the information process off
        self.items = [it for it in model.config.information.items if it.kind == "case_report"]
        k = len(self.items)
        self.start = np.array([it.start_day for it in self.items], dtype=float)
        self.level = np.zeros(k, dtype=np.int64)  # the next level to reach
        self.worked = np.zeros(k)  # hours counted toward the current hop
        self.need = np.full(k, np.nan)  # hours the current hop takes
        self.reached = np.full((k, len(LEVELS)), np.nan)  # day each level was reached
        self._first_start = float(self.start.min()) if k else np.inf  # no chain runs before it

    def _hop(self, level: int) -> float:
        median = float(getattr(self.config.hop_hours, LEVELS[level]))
        sigma = self.config.hop_sigma
        return median * float(np.exp(sigma * self.rng.standard_normal())) if sigma > 0 else median

    def step(self, model: QunModel) -> None:
        clock, cfg = model.clock, self.config
        t0 = model.t
        t1 = t0 + clock.step_days
        if not t1 > self._first_start or self.idle():  # (no case report, none released yet, or all done)
            return
        pop_cfg = model.config.population
        on_duty = not cfg.working_hours_only or bool(
            in_hours(clock.hour, np.array([pop_cfg.work_start_hour]), np.array([pop_cfg.work_end_hour]))[0]
        )
        for j in ((self.start < t1) & (self.level < len(LEVELS))).nonzero()[0]:
            if np.isnan(self.need[j]):
                self.need[j] = self._hop(int(self.level[j]))
            if not on_duty:
                continue
            self.worked[j] += (t1 - max(t0, self.start[j])) * 24.0
            # (a tolerance for the sum of step lengths in floating point)
            while self.level[j] < len(LEVELS) and self.worked[j] >= self.need[j] - 1e-9:
                self.worked[j] = max(self.worked[j] - self.need[j], 0.0)
                self.reached[j, self.level[j]] = t1 - self.worked[j] / 24.0  # the hop ended inside this step
                self.level[j] += 1
                self.need[j] = self._hop(int(self.level[j])) if self.level[j] < len(LEVELS) else np.nan

    def idle(self) -> bool:
        return not self.items or bool(np.all(self.level >= len(LEVELS)))

    def record(self, model: QunModel, rec: Recorder) -> None:
        for j, it in enumerate(self.items):
            rec.add("n_levels_reported", int(self.level[j]), item=it.name)

    def _groups(self, model: QunModel, name: str) -> dict[str, float]:
        """Days from the release to the first administrator (or member abroad) who heard of ``name``."""
        running: dict[str, Any] = {p.name: p for p in model.processes}
        if "information" not in running:
            return {}
        info = running["information"]
        heard = info.arrays.t_first[info.catalog.index[name]]
        pop = model.pop
        admin = pop.role == ROLES.index("public_health_admin")
        tier = pop.fac_tier[pop.facility]
        who = {
            "county": admin & (tier == 1) & ~pop.fac_abroad[pop.facility],
            "city": admin & (tier == 2) & ~pop.fac_abroad[pop.facility],
            "abroad": pop.fac_abroad[pop.facility],
        }
        out = {}
        for level, sel in who.items():
            times = heard[sel]
            out[level] = float(np.nanmin(times)) if np.isfinite(times).any() else np.nan
        return out

    def finish(self, model: QunModel, out: Outputs) -> None:
        m, rows, lines = out.metrics, [], []
        for j, it in enumerate(self.items):
            formal = self.reached[j] - it.start_day
            groups = {k: v - it.start_day for k, v in self._groups(model, it.name).items()}
            for k, level in enumerate(LEVELS):
                f = formal[k]
                g = groups.get(level, np.nan)
                m.add("rep", f"t_formal_{level}", float(f) if np.isfinite(f) else None, item=it.name)
                if level in GROUP_LEVELS and groups:
                    m.add("rep", f"t_groups_{level}", float(g) if np.isfinite(g) else None, item=it.name)
                    first = None
                    if np.isfinite(g) or np.isfinite(f):
                        first = float(np.isfinite(g) and (not np.isfinite(f) or g < f))
                    m.add("rep", f"groups_first_{level}", first, item=it.name)
                rows.append((it.name, level, f, g if level in GROUP_LEVELS else np.nan))
            done = ", ".join(
                f"{lv} {formal[k]:.1f} d" if np.isfinite(formal[k]) else f"{lv} -" for k, lv in enumerate(LEVELS)
            )
            line = f"case report {it.name}: formal chain (days from release) {done}"
            if groups:
                seen = ", ".join(
                    f"{lv} {groups[lv]:.1f} d" if np.isfinite(groups[lv]) else f"{lv} -" for lv in GROUP_LEVELS
                )
                line += f"; through the groups {seen}"
            lines.append(line)
        if self.items:
            out.tables["reporting"] = pd.DataFrame(rows, columns=["item", "level", "t_formal_days", "t_groups_days"])
        for k, line in enumerate(lines):
            m.note(f"summary_rep_{k}", line)
