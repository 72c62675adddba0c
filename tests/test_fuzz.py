"""Fuzzing the scenario schema: bad input is refused with ScenarioError, good input runs.

Hypothesis draws scenario files from the real schema (every section, nested tables,
lists of tables, interventions with their own parameters and `settings` paths), mostly
with values the schema's types and ranges allow and, at a drawn rate, junk in their
place (wrong types, NaN and infinities, huge numbers, empty lists, tables where a value
belongs). Two properties:

* loading a drawn file either gives a :class:`Scenario` or raises :class:`ScenarioError`
  (nothing else), and a loaded scenario's resolved TOML loads back to the same scenario;
* every scenario that loads builds, runs, and yields its results, and no step computes a
  NaN (numpy's "invalid value" warning fails the test). These draws (:func:`runnable_tables`)
  are mended so that most load, with items and interventions that start within the run;
  the population and the duration are drawn small so that thousands of runs stay cheap,
  everything else is as free as for loading (see the comment above ``runnable_tables``).

The number of examples is ``QUNSIM_FUZZ_EXAMPLES`` (default 2,000 each; the two full tests
take a few minutes and are marked ``slow``, a 150-example loading test runs every time);
the draws are derandomized, and drawn with the constants of ``sim``'s modules whatever was
imported before (:func:`same_draws_anywhere`), so a run is reproducible in any process
(``QUNSIM_FUZZ_RANDOM=1`` explores).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import tempfile
import types
import typing
import warnings
from pathlib import Path

import annotated_types
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.components import names
from sim.config import Scenario, ScenarioError, load_scenario, scenario_to_toml, scenario_warnings
from sim.interventions import intervention_class
from sim.processes.information.config import ItemConfig
from sim.schema import is_setup_only

EXAMPLES = int(os.environ.get("QUNSIM_FUZZ_EXAMPLES", "2000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("QUNSIM_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# --- the same draws in any process -------------------------------------------------------
# Hypothesis (from 6.131) mixes into its draws constants read from the source of every local
# module imported so far (``providers._get_local_constants``). A worker that ran other tests
# first has imported more of ``sim`` (the demo, calibration and experiment packages load
# lazily), so the "derandomized" draws were not the same from run to run: a scenario with
# an accuracy slope of 5e-186 came up in two of three runs of the suite on two workers, and
# never in this module run alone. The fuzz tests draw with the constants of every module of
# ``sim``, collected once, whatever has been imported.
@functools.cache
def _sim_constants():
    """The constants of every module of ``sim`` (in name order), as Hypothesis keeps them."""
    import importlib
    import pkgutil

    from hypothesis.internal.constants_ast import Constants, constants_from_module
    from hypothesis.internal.floats import float_to_int
    from sortedcontainers import SortedSet

    import sim

    found = Constants()
    for info in sorted(pkgutil.walk_packages(sim.__path__, "sim."), key=lambda m: m.name):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency missing: the same in every process here
            continue
        found |= constants_from_module(module)
    # sorted sets, as Hypothesis keeps its own (it draws from them by index)
    pool = Constants(integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(), strings=SortedSet())
    pool |= found
    return pool


@contextlib.contextmanager
def same_draws_anywhere():
    """Draw with :func:`_sim_constants` as Hypothesis's local constants (nothing to do for a
    Hypothesis without them)."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        providers = None
    if providers is None or not hasattr(providers, "_get_local_constants"):  # pragma: no cover
        yield
        return
    pool = _sim_constants()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(providers, "_get_local_constants", lambda: pool)
        providers.CONSTANTS_CACHE.cache.clear()  # values cached from other constants
        try:
            yield
        finally:
            providers.CONSTANTS_CACHE.cache.clear()


@pytest.fixture(scope="module", autouse=True)
def _same_draws():
    with same_draws_anywhere():
        yield


#: names items, regions and references are drawn from: few, so that references hit and names repeat
NAMES = ("a", "b", "c", "d", "City", "Town", "rumor", "g-1")
TOML_KEYS = st.text(alphabet="abcxyz_.", min_size=1, max_size=6)

# --------------------------------------------------------------------------- junk
JUNK_SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, -1e300, 1e-300, 0.0, -1.0]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**63, 2**64, 10**12]),
    st.text(max_size=12),
    st.booleans(),
)
JUNK = st.one_of(
    JUNK_SCALARS,
    st.lists(JUNK_SCALARS, max_size=3),
    st.dictionaries(TOML_KEYS, JUNK_SCALARS, max_size=3),
)


# ------------------------------------------------------------------- from the schema
def _constraints(metadata) -> dict:
    """ge/gt/le/lt (and min_length) from a field's metadata, nested FieldInfos included."""
    out: dict = {}
    for m in metadata:
        if isinstance(m, FieldInfo):
            out.update(_constraints(m.metadata))
        elif isinstance(m, annotated_types.BaseMetadata):
            for key in ("ge", "gt", "le", "lt", "min_length", "max_length"):
                if getattr(m, key, None) is not None:
                    out[key] = getattr(m, key)
    return out


def _number(kind: type, c: dict) -> st.SearchStrategy:
    """Numbers inside the range: mostly small ones, now and then anywhere in it (huge where unbounded)."""
    lo = c.get("ge", c.get("gt"))
    hi = c.get("le", c.get("lt"))
    if kind is int:
        lo_i = int(lo) + (1 if "gt" in c and lo == int(lo) else 0) if lo is not None else -5
        hi_i = int(hi) - (1 if "lt" in c and hi == int(hi) else 0) if hi is not None else None
        small = st.integers(lo_i, min(hi_i, lo_i + 4) if hi_i is not None else lo_i + 4)
        wide = st.integers(lo_i, hi_i if hi_i is not None else 2**63)
        return st.one_of(*[small] * 6, wide)
    lo_f = float(lo) if lo is not None else -10.0
    near = st.floats(
        lo_f,
        float(hi) if hi is not None else lo_f + 20.0,
        exclude_min="gt" in c,
        exclude_max="lt" in c,
        allow_nan=False,
        allow_infinity=False,
    )
    far = st.floats(
        lo_f,
        float(hi) if hi is not None else 1e300,
        exclude_min="gt" in c,
        exclude_max="lt" in c,
        allow_nan=False,
        allow_infinity=False,
    )
    return st.one_of(*[near] * 3, far)


def _strip(annotation):
    """(base type, constraints) of an annotation, unwrapping Annotated."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return base, _constraints(meta)
    return annotation, {}


def value_of(annotation, constraints: dict, name: str = "") -> st.SearchStrategy:
    """Values for a field of this type and range (junk is put in afterwards, by :func:`spoil`)."""
    annotation, inner = _strip(annotation)
    constraints = {**inner, **constraints}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any:
        return JUNK_SCALARS
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[value_of(a, {}, name) for a in args if a is not type(None)])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_of(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation in (int, float):
        return _number(annotation, constraints)
    if annotation is str:
        if name in ("name", "target", "referral_hub", "item"):
            return st.sampled_from(NAMES)
        if name == "membership_file":
            return st.sampled_from(["nowhere.parquet"])
        return st.one_of(st.text(max_size=10), st.sampled_from(NAMES))
    if origin is list:
        return st.lists(value_of(args[0], {}, name), min_size=constraints.get("min_length", 0), max_size=4)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(value_of(args[0], {}, name), max_size=4)
        return st.tuples(*[value_of(a, {}, name) for a in args]).map(list)
    if origin is dict:
        key_type, value_type = args
        key_type, _ = _strip(key_type)
        keys = (
            st.sampled_from(typing.get_args(key_type))
            if typing.get_origin(key_type) is typing.Literal
            else st.sampled_from(NAMES)
        )
        return st.dictionaries(keys, value_of(value_type, {}, name), max_size=5)
    raise TypeError(f"no strategy for {annotation!r}")  # a new kind of field: teach the fuzzer


#: fields left out of the drawn tables (spoiling may still put junk there)
SKIP = {"membership_file"}
FACILITY_COUNTS = {"count": 1, "primary": 0, "secondary": 0, "tertiary": 0}
#: draws that sum to 1 for fields that must
SUM_TO_ONE = st.sampled_from([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
#: keys a correction item may have (its spreading comes from the rumor it corrects)
CORRECTION_KEYS = {
    "name",
    "kind",
    "target",
    "start_day",
    "n_seeds",
    "seed_share",
    "seed_tiers",
    "seed_roles",
    "seed_region_kinds",
    "seed_international",
    "seed_clinicians",
    "seed_channel",
}


def _fix(model: type[BaseModel], table: dict) -> dict:
    """Mend what one table's own checks refuse almost always, so that more drawn scenarios load."""
    fields = model.model_fields
    if {"primary", "secondary", "tertiary", "count"} <= set(fields) and not any(
        table.get(t) for t in ("primary", "secondary", "tertiary")
    ):
        table["primary"] = 1  # a region needs a facility
    if {"kind", "target"} <= set(fields):  # an information item
        if table.get("kind") == "correction":
            table = {k: v for k, v in table.items() if k in CORRECTION_KEYS}
            table.setdefault("target", "rumor")
        else:
            table.pop("target", None)
    return table


@functools.cache
def model_of(model: type[BaseModel]) -> st.SearchStrategy:
    """A table for ``model``: required fields present, optional ones at random (built once per model)."""
    required: dict[str, st.SearchStrategy] = {}
    optional: dict[str, st.SearchStrategy] = {}
    for fname, field in model.model_fields.items():
        strategy: st.SearchStrategy
        if fname in SKIP:
            continue
        if fname in ("equipment", "equipment_need"):
            strategy = SUM_TO_ONE
        elif fname in FACILITY_COUNTS and "count" in model.model_fields:  # a region's few facilities (huge: spoil)
            strategy = st.integers(FACILITY_COUNTS[fname], 3)
        else:
            strategy = value_of(field.annotation, _constraints(field.metadata), fname)
        (required if field.is_required() else optional)[fname] = strategy
    return st.fixed_dictionaries(required, optional=optional).map(lambda table: _fix(model, table))


@st.composite
def intervention(draw) -> dict:
    """An [[interventions]] entry: a registered name with parameters from its own schema."""
    name = draw(st.sampled_from(sorted(names("intervention"))))
    entry: dict = {"name": name}
    if draw(st.booleans()):
        entry["start_day"] = draw(value_of(float, {"ge": 0.0}))
    if draw(st.booleans()):
        entry["end_day"] = draw(value_of(float, {"ge": 0.0}))
    kind = intervention_class(name)
    needs = kind is not None and any(f.is_required() for f in kind.Params.model_fields.values())
    if kind is not None and kind.Params.model_fields and (needs or draw(st.booleans())):
        entry["params"] = draw(model_of(kind.Params))
    if name == "settings":
        entry["set"] = draw(st.dictionaries(st.sampled_from(SETTING_PATHS), JUNK, max_size=3))
    return entry


def _spots(node, out: list) -> list:
    """Every (container, key) in a nested structure of dicts and lists."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append((node, key))
        _spots(value, out)
    return out


@st.composite
def spoil(draw, raw: dict, counts: tuple[int, ...] = (0, 0, 1, 1, 1, 2, 3)) -> dict:
    """``raw`` with a few spots (a draw from ``counts``) spoiled: junk in place of a value, a key
    dropped or unknown, a list emptied."""
    raw = copy.deepcopy(raw)  # drawn values may be shared objects (sampled_from): never change them
    for _ in range(draw(st.sampled_from(counts))):
        spots = _spots(raw, [])
        if not spots:
            break
        node, key = spots[draw(st.integers(0, len(spots) - 1))]
        how = draw(st.sampled_from(["junk", "junk", "junk", "drop", "unknown", "empty"]))
        if how == "drop":
            del node[key]
        elif how == "unknown" and isinstance(node, dict):
            node[draw(TOML_KEYS)] = draw(JUNK_SCALARS)
        elif how == "empty":
            node[key] = [] if isinstance(node[key], list) else {}
        else:
            node[key] = draw(JUNK)
    return raw


def _setting_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for fname, field in model.model_fields.items():
        ann, _ = _strip(field.annotation)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _setting_paths(ann, f"{prefix}{fname}.")
        else:
            out.append(f"{prefix}{fname}")
    return out


#: `settings` paths: every setting, and whole tables, lists and names that are not settings
SETTING_PATHS = [p for p in _setting_paths(Scenario) if not p.startswith("interventions")] + [
    *Scenario.model_fields,
    "information.moderation",
    "nowhere.x",
    "network.enabled.x",
]
SECTIONS = {
    name: value_of(field.annotation, {}, name)
    for name, field in Scenario.model_fields.items()
    if name != "interventions"
}


@st.composite
def scenario_tables(draw) -> dict:
    """The tables of a scenario file, drawn from the schema and spoiled."""
    raw: dict = {}
    for section, strategy in SECTIONS.items():
        if draw(st.booleans()):
            raw[section] = draw(strategy)
    if draw(st.booleans()):
        raw["interventions"] = draw(st.lists(intervention(), max_size=3))
    return draw(spoil(raw))


# ------------------------------------------------------------ scenarios that run
# The run test needs scenarios that load, that are small, and in which things happen
# within their one to three steps. So its draws differ from the loading test's in four ways:
# * the cross-field rules that junk-free draws break most often are mended before spoiling
#   (work hours in order, unique item names, corrections aimed at a drawn rumor, routes in
#   order, end_day after start_day, a broadcast naming a drawn item), and spoiling is rarer
#   (none in about half the draws), so that about two thirds of the draws load;
# * items, interventions and `settings` values are drawn more often, the latter from the
#   setting's own type and range, and start days fall inside the run about three times in four;
# * sizes are biased small: 3-30 clinicians in half of the draws, 30-300 in the other half
#   (never fewer than the drawn facilities, never more than 1,000), and the duration is 1-3
#   steps of 1, 4 or 12 hours;
# * everything else (rates, probabilities, group sizes, counts, tables and lists) keeps the
#   full range of the schema, huge values included.
def _setting_fields(model: type[BaseModel], prefix: str = "") -> dict[str, FieldInfo]:
    out: dict[str, FieldInfo] = {}
    for fname, field in model.model_fields.items():
        ann, _ = _strip(field.annotation)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_setting_fields(ann, f"{prefix}{fname}."))
        else:
            out[f"{prefix}{fname}"] = field
    return out


#: settings a `settings` intervention may change during a run, with values of their own type and range
CHANGEABLE = {
    path: value_of(field.annotation, _constraints(field.metadata), path.rsplit(".", 1)[-1])
    for path, field in _setting_fields(Scenario).items()
    if path.split(".")[0] not in ("run", "population", "groups", "contacts", "interventions")
    and not is_setup_only(field)
}


@st.composite
def runnable_intervention(draw) -> dict:
    """An intervention as :func:`intervention` draws it; a `settings` one mostly sets allowed values."""
    entry = draw(intervention())
    if entry["name"] == "settings" and draw(st.integers(0, 3)):
        paths = draw(st.lists(st.sampled_from(sorted(CHANGEABLE)), min_size=1, max_size=3, unique=True))
        entry["set"] = {path: draw(CHANGEABLE[path]) for path in paths}
    return entry


def _when(draw, given: object) -> object:
    """A start day inside a run of at most a day three times in four, else the one drawn."""
    return draw(st.sampled_from([0.0, 0.0, 0.02, given]))


def _mend(draw, raw: dict) -> dict:
    """Mend the cross-field rules that draws break most often (see the comment above)."""
    pop = raw.get("population", {})
    start, end = pop.get("work_start_hour", 8.0), pop.get("work_end_hour", 18.0)
    if end <= start:
        pop["work_start_hour"], pop["work_end_hour"] = (end, start) if end < start else (8.0, 18.0)
    if "roles" in pop and not any(v > 0 for v in pop["roles"].values()):
        pop["roles"]["doctor"] = 1.0
    items = raw.get("information", {}).get("items", [])
    seen: set[str] = set()
    for k, it in enumerate(items):
        if it["name"] in seen:
            it["name"] = f"{it['name']}_{k}"
        seen.add(it["name"])
        it["start_day"] = _when(draw, it.get("start_day", 0.0))
    rumors = [it["name"] for it in items if it["kind"] == "rumor"]
    for it in items:
        if it["kind"] == "correction" and it["target"] not in rumors:
            if not rumors:
                items.insert(0, {"name": "rumor_0", "kind": "rumor"})
                rumors.append("rumor_0")
            it["target"] = draw(st.sampled_from(rumors))
    regions = pop.get("regions", [])
    for k, region in enumerate(regions):
        region["name"] = f"{region['name']}{k}"
    for region in regions:
        if "referral_hub" in region:
            region["referral_hub"] = draw(st.sampled_from([r["name"] for r in regions]))
    dx = raw.get("diagnosis", {})
    if "routes" in dx:
        routes = list(dict.fromkeys(dx["routes"]))
        routes = [r for r in ("local",) if r in routes] + [r for r in routes if r not in ("local", "referral")]
        dx["routes"] = routes + (["referral"] if "referral" in dx["routes"] else [])
        if not dx["routes"]:
            del dx["routes"]
    if "specialty_weights" in dx and not any(v > 0 for v in dx["specialty_weights"].values()):
        del dx["specialty_weights"]
    shown = [it["name"] for it in items if it["kind"] != "correction"]
    for iv in raw.get("interventions", []):
        iv["start_day"] = _when(draw, iv.get("start_day", 0.0))
        if "end_day" in iv and iv["end_day"] <= iv["start_day"]:
            iv["end_day"] = iv["start_day"] + draw(st.sampled_from([0.01, 0.5, 10.0]))
        if iv["name"] == "broadcast" and iv["params"]["item"] not in shown:
            if shown:
                iv["params"]["item"] = draw(st.sampled_from(shown))
            else:
                items.append({"name": iv["params"]["item"], "kind": "guideline"})
                shown.append(iv["params"]["item"])
    if items and "information" not in raw:
        raw["information"] = {"items": items}
    return raw


@st.composite
def runnable_tables(draw) -> dict:
    """A small, short scenario file from the schema, mostly loadable (see the comment above)."""
    raw: dict = {}
    for section, strategy in SECTIONS.items():
        if draw(st.integers(0, 3)):
            raw[section] = draw(strategy)
    if draw(st.integers(0, 3)):
        info = raw.setdefault("information", {})
        info["items"] = draw(st.lists(model_of(ItemConfig), min_size=1, max_size=4))
    if draw(st.integers(0, 2)):
        raw["interventions"] = draw(st.lists(runnable_intervention(), min_size=1, max_size=3))
    raw = draw(spoil(_mend(draw, raw), counts=(0, 0, 0, 0, 1, 1, 2)))
    run = raw.get("run")
    if not isinstance(run, dict):
        run = raw["run"] = {}
    run["step_minutes"] = draw(st.sampled_from([60.0, 240.0, 720.0]))
    run["duration_days"] = run["step_minutes"] * draw(st.integers(1, 3)) / (24 * 60)
    pop = raw.get("population")
    if not isinstance(pop, dict):
        pop = raw["population"] = {}
    n = draw(st.one_of(st.integers(3, 30), st.integers(30, 300)))
    pop["n_clinicians"] = n = max(n, min(_facilities(pop), 1_000))
    info = raw.get("information")
    for it in info.get("items", []) if isinstance(info, dict) and isinstance(info.get("items"), list) else []:
        ids = it.get("seed_clinicians") if isinstance(it, dict) else None
        if isinstance(ids, list) and ids and all(isinstance(i, int) for i in ids) and draw(st.integers(0, 3)):
            it["seed_clinicians"] = [i % n for i in ids]  # ids in the population three times in four
    return raw


def _facilities(pop: dict) -> int:
    """Facilities the drawn regions define (0 when they are not well formed)."""
    if "regions" not in pop:
        return 6  # the default region: 3 + 2 + 1 facilities
    try:
        return sum(
            r.get("count", 1) * sum(r.get(t, 0) for t in ("primary", "secondary", "tertiary")) for r in pop["regions"]
        )
    except (AttributeError, TypeError):
        return 0


def _load(raw: dict, folder: Path):
    """Write ``raw`` as a scenario file and load it: a Scenario, or None for a ScenarioError."""
    path = folder / "fuzz.toml"
    path.write_text(tomli_w.dumps(raw))
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        assert str(path) in str(exc)  # every refusal names the file
        return None


@contextlib.contextmanager
def _address_space_ceiling(extra: int):
    """Allocations beyond ``extra`` more bytes fail with MemoryError instead of exhausting the machine
    (a scenario whose numbers ask for terabytes must fail this test, not the computer running it)."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError):  # not Linux: no ceiling
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = now + extra if hard == resource.RLIM_INFINITY else min(now + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _loads_or_refuses(raw: dict, folder: Path) -> None:
    scen = _load(raw, folder)
    if scen is None:
        return
    scenario_warnings(scen)
    again = folder / "again.toml"
    again.write_text(scenario_to_toml(scen))
    assert load_scenario(again) == scen  # the resolved scenario loads back unchanged


@settings(FUZZ, max_examples=min(EXAMPLES, 150))
@given(raw=scenario_tables())
def test_loading_succeeds_or_raises_scenario_error_quick(raw, folder):
    """A few of the draws of the full test below, in every run of the suite."""
    _loads_or_refuses(raw, folder)


@pytest.mark.slow
@FUZZ
@given(raw=scenario_tables())
def test_loading_succeeds_or_raises_scenario_error(raw, folder):
    _loads_or_refuses(raw, folder)


@pytest.mark.slow
@FUZZ
@given(raw=runnable_tables())
def test_every_scenario_that_loads_runs(raw, folder):
    """Every scenario that loads builds a model, runs its steps and yields its results; no
    step computes a NaN from the settings (numpy's "invalid value" warning is an error here)."""
    from sim.runner import run

    scen = _load(raw, folder)
    if scen is None:
        return
    with _address_space_ceiling(4 * 2**30), warnings.catch_warnings():
        warnings.filterwarnings("error", message="invalid value encountered", category=RuntimeWarning)
        # an exponential of an extreme setting (an accuracy slope of 1e-186) overflows to inf,
        # and the logistic takes its limit (chance accuracy): not a NaN, and not reported
        warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning)
        res = run(scen, seed=1)
    assert 1 <= res.manifest["steps"] <= scen.n_steps  # fewer only with run.stop_when_idle
    assert res.metrics["n_clinicians"] == scen.population.n_clinicians


_DRAW_DIGEST = """
import hashlib, importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from hypothesis import HealthCheck, given, settings
from tests.test_fuzz import runnable_tables, same_draws_anywhere
seen = []
@settings(derandomize=True, max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=runnable_tables())
def draw(raw):
    seen.append(repr(raw))
with same_draws_anywhere():
    draw()
print(hashlib.sha256("\\n".join(seen).encode()).hexdigest())
"""


def test_the_draws_do_not_depend_on_what_was_imported_before():
    """The derandomized draws of the runnable scenarios are the same in a process that imported
    more of ``sim`` (and other local code) first, as a worker that ran other tests has."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))

    def digest(*first: str) -> str:
        cmd = [sys.executable, "-c", _DRAW_DIGEST, *first]
        return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=True).stdout.strip()

    plain = digest()
    assert len(plain) == 64
    assert digest("sim.demo.app", "sim.calibrate.abc", "sim.experiments.executors", "benchmarks.network") == plain
