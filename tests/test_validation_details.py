"""Details of ``qunsim validate``: Student-t intervals and the exact Reed-Frost mean (issue #11)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from sim.processes.information.cases import (
    reed_frost_final_distribution,
    reed_frost_final_size,
    reed_frost_mean_share,
)
from sim.validation import CASES, t_quantile


def test_t_quantile_is_student_t_at_999_and_tends_to_normal():
    assert t_quantile(12) == pytest.approx(4.437, abs=1e-3)  # df 11
    assert t_quantile(40) == pytest.approx(3.558, abs=1e-3)
    assert t_quantile(10**7) == pytest.approx(3.2905, abs=1e-4)
    assert t_quantile(1) == math.inf
    # the interval covers the mean of normal samples 99.9% of the time at R = 5
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200_000, 5))
    half = t_quantile(5) * x.std(axis=1, ddof=1) / math.sqrt(5)
    miss = (np.abs(x.mean(axis=1)) > half).mean()
    # binomial se of the miss rate: sqrt(0.001 * 0.999 / 2e5) = 7.1e-5; allow 4.4 se
    assert abs(miss - 0.001) < 4.4 * 7.1e-5
    assert student_t.sf(t_quantile(5), 4) == pytest.approx(0.0005, rel=1e-9)


def _brute_force(n: int, p: float, n0: int) -> np.ndarray:
    """P(s_final = s) by enumerating every generation's outcome (tiny n only)."""
    out = np.zeros(n + 1)

    def walk(s: int, i: int, prob: float) -> None:
        if i == 0 or s == 0:
            out[s] += prob
            return
        q = 1 - (1 - p) ** i
        for j in range(s + 1):
            pj = math.comb(s, j) * q**j * (1 - q) ** (s - j)
            if j == 0:
                out[s] += prob * pj
            else:
                walk(s - j, j, prob * pj)

    walk(n - n0, n0, 1.0)
    return out


@pytest.mark.parametrize("n,p,n0", [(4, 0.3, 1), (6, 0.5, 2), (7, 0.15, 1), (5, 0.9, 1)])
def test_reed_frost_distribution_matches_brute_force(n, p, n0):
    assert reed_frost_final_distribution(n, p, n0) == pytest.approx(_brute_force(n, p, n0), abs=1e-13)


def test_reed_frost_exact_mean_for_the_shipped_case():
    mean, err = reed_frost_mean_share(500, 2 / 499, 5)
    assert mean == pytest.approx(0.79963, abs=1e-5)  # the finite-N mean the issue quotes
    assert reed_frost_final_size(500, 2 / 499, 0.01) == pytest.approx(0.80233, abs=1e-5)  # the limit
    assert err < 1e-7  # the case's bound: numerical error only
    # the old bound 1/N did not hold in general: at N = 50 the limit is off by more than 1/N
    small, _ = reed_frost_mean_share(50, 2 / 49, 1)
    assert abs(small - reed_frost_final_size(50, 2 / 49, 1 / 50)) > 1 / 50


def test_the_reed_frost_case_uses_the_exact_mean():
    from sim.config import load_scenario
    from sim.validation import registered_cases, scenario_dir

    case = registered_cases()["reed_frost"]
    scen = load_scenario(scenario_dir() / case.scenario)
    assert case.expected(scen) == pytest.approx(reed_frost_mean_share(500, 2 / 499, 5)[0], abs=1e-12)
    assert case.approx(scen) < 1e-7
    assert set(itertools.islice(CASES, 0, None)) >= {"reed_frost", "mmc", "parallel_escalation"}
