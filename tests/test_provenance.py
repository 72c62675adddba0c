"""The basis column of docs/parameters.md: every entry of the provenance file names a real
setting, calibrated settings name real targets, and the assumption ranking is sound."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.assumption_ranking import ranking
from sim.calibrate.targets import load_targets
from sim.docs import parameter_markdown, parameter_rows
from sim.provenance import Basis, basis_of, load_provenance, load_ranking, matches

SETTINGS = [r["setting"] for r in parameter_rows()]


def test_every_entry_names_a_setting():
    dead = [p for p, _ in load_provenance() if not any(matches(p, s) for s in SETTINGS)]
    assert dead == [], f"provenance.toml entries that match no setting: {dead}"


def test_calibrated_settings_name_shipped_targets():
    targets = set(load_targets())
    for pattern, basis in load_provenance():
        if basis.basis == "calibrated":
            assert basis.target in targets, (pattern, basis.target)


def test_unlisted_settings_are_assumptions_and_patterns_take_one_segment():
    assert basis_of("information.beta") == Basis("assumption")
    assert basis_of("run.seed").basis == "design"
    assert basis_of("information.correction_effect_d").basis == "literature"
    assert matches("groups.bases.*.roles", "groups.bases.alumni.roles")
    assert not matches("run.*", "run")
    assert not matches("groups.bases.*", "groups.bases.alumni.roles")


def test_a_bad_basis_is_refused(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('"run.seed" = { basis = "folklore" }\n')
    with pytest.raises(ValueError, match="basis"):
        load_provenance(f)
    f.write_text('"run.seed" = { basis = "calibrated" }\n')
    with pytest.raises(ValueError, match="target"):
        load_provenance(f)


def test_ranking_normalises_each_output_by_its_largest_mu_star():
    idx = pd.DataFrame(
        [
            ("y1", "mu_star", "a", 4.0),
            ("y1", "mu_star", "b", 2.0),
            ("y1", "mu_star", "d", 0.4),
            ("y2", "mu_star", "a", 1.0),
            ("y2", "mu_star", "b", 3.0),
            ("y2", "mu_star", "d", 0.3),
            ("y2", "sigma", "a", 99.0),
        ],
        columns=["output", "index", "parameter", "value"],
    )
    outputs, rows = ranking(idx, {"a": "x.a", "b": "x.b", "d": None})
    assert outputs == ["y1", "y2"]
    by = {r["parameter"]: r for r in rows}
    assert by["a"]["score"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert by["b"]["score"] == pytest.approx((0.5 + 1.0) / 2)
    assert [r["parameter"] for r in rows] == ["b", "a", "d"]
    assert by["d"]["setting"] is None


def test_the_recorded_ranking_covers_settings_and_is_in_the_docs():
    rec = load_ranking()
    if rec is None:  # the docs then say so
        assert "No screening recorded yet" in parameter_markdown()
        return
    for row in rec["rows"]:
        assert row["setting"] is None or row["setting"] in SETTINGS, row["setting"]
    scores = [r["score"] for r in rec["rows"]]
    assert scores == sorted(scores, reverse=True)
    assert "## Assumptions, ranked" in parameter_markdown()
