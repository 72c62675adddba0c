"""Scenario files: schema, inheritance, overrides, and clear errors for bad input."""

import pytest

from sim import ScenarioError, load_scenario
from sim.cli import main
from sim.config import scenario_to_toml

from .conftest import SCENARIOS


def test_defaults_fill_every_field(small):
    scen = load_scenario(small)
    assert scen.run.name == "small"
    assert scen.groups.size_cap == 500
    assert set(scen.groups.bases) == {
        "alumni",
        "cohort",
        "specialty",
        "affiliate",
        "surveillance",
        "conference",
        "reading",
        "abroad",
    }


def test_resolved_scenario_round_trips(small, write):
    scen = load_scenario(small)
    again = load_scenario(write(scenario_to_toml(scen), "resolved.toml"))
    assert again == scen


def test_extends_merges_tables_and_child_wins(small, write):
    child = write(f'extends = "{small.name}"\n[run]\nduration_days = 9\n', "child.toml")
    scen = load_scenario(child)
    assert scen.run.duration_days == 9
    assert scen.run.name == "small"  # inherited
    assert scen.population.n_clinicians == 240


def test_set_overrides_after_inheritance(small):
    scen = load_scenario(
        small,
        ["run.duration_days=2", "population.regions.0.tertiary=2", 'run.name="x y"', "run.description=plain words"],
    )
    assert scen.run.duration_days == 2
    assert scen.population.regions[0].tertiary == 2
    assert scen.run.name == "x y"
    assert scen.run.description == "plain words"


def test_partial_table_keeps_other_defaults(small):
    scen = load_scenario(small, ["groups.bases.alumni.size_median=90"])
    assert scen.groups.bases["alumni"].size_median == 90
    assert scen.groups.bases["alumni"].join_prob == 0.7  # default kept
    assert scen.groups.bases["reading"].enabled  # other bases kept


BAD_VALUES = [
    ("groups.bases.alumni.size_median=600", "groups.bases.alumni.size_median", "500"),
    ("groups.size_cap=501", "groups.size_cap", "500"),
    ("groups.bases.alumni.join_prob=1.5", "groups.bases.alumni.join_prob", "1"),
    ("run.duration_days=-3", "run.duration_days", "greater than 0"),
    ("information.purge_days=-1", "information.purge_days", "greater than or equal to 0"),
    ('run.step_minutes="an hour"', "run.step_minutes", "valid number"),
    ("run.colour=1", "run.colour", "unknown setting"),
    ("population.tiers.primary.equipment=[0.5, 0.1, 0.1]", "population.tiers.primary", "sum to 1"),
    ('interventions=[{name="nope"}]', "interventions.0", "unknown intervention"),
    (
        'interventions=[{name="settings", set={"network.conference_interval_days"=-1}}]',
        "network.conference_interval_days",
        "greater than or equal to 0",
    ),
    ('interventions=[{name="settings", set={"network.bogus"=1}}]', "network.bogus", "not a setting"),
]


@pytest.mark.parametrize("override,path,allowed", BAD_VALUES)
def test_bad_values_name_file_field_and_rule(small, override, path, allowed, capsys):
    with pytest.raises(ScenarioError) as err:
        load_scenario(small, [override])
    msg = str(err.value)
    assert str(small) in msg and path in msg and allowed in msg
    # the command line says the same, with exit code 2 and no traceback
    code = main(["run", str(small), "--set", override, "--out", str(small.parent / "o")])
    out = capsys.readouterr()
    assert code == 2
    assert path in out.err and "Traceback" not in out.err
    assert not (small.parent / "o").exists()


@pytest.mark.parametrize("override", ["novalue", "=3", "a..b=1", "run.duration_days.x=1"])
def test_malformed_set(small, override, capsys):
    assert main(["show", str(small), "--set", override]) == 2
    assert "--set" in capsys.readouterr().err


def test_circular_extends(write):
    write('extends = "b.toml"\n', "a.toml")
    b = write('extends = "a.toml"\n', "b.toml")
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(b)


def test_missing_extends(write):
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(write('extends = "nowhere.toml"\n'))


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")


def test_not_toml(write):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write("[run\nname = 1\n"))


def test_unreadable_file(tmp_path):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(folder)


def test_binary_file(tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ScenarioError, match="not a text file"):
        load_scenario(path)


def test_fewer_clinicians_than_facilities(small, capsys):
    assert (
        main(["run", str(small), "--set", "population.n_clinicians=4", "--quiet", "--out", str(small.parent / "o")])
        == 2
    )
    assert "population.n_clinicians" in capsys.readouterr().err


def test_nonempty_output_folder_is_not_overwritten(small, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", str(small), "--out", str(out), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["run", str(small), "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert (out / "manifest.json").exists()


SHIPPED = sorted(p for p in SCENARIOS.rglob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(SCENARIOS)) for p in SHIPPED])
def test_every_shipped_scenario_loads(path):
    scen = load_scenario(path)
    assert scen.n_steps >= 1


def test_parameter_reference_is_current():
    from sim.docs import parameter_markdown

    from .conftest import ROOT

    written = (ROOT / "docs" / "parameters.md").read_text()
    assert written == parameter_markdown(), "run: qunsim params > docs/parameters.md"


def test_every_setting_has_a_meaning():
    from sim.docs import parameter_rows

    missing = [r["setting"] for r in parameter_rows() if not r["meaning"]]
    assert not missing, missing
