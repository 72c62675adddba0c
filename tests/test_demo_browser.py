"""The teaching page in a real browser: Debian's Chromium driven by Playwright.

One ``qunsim demo`` server (a subprocess on a free port) serves every test; each test
opens its own page (its own session and models). Every page fails its test on any
console error and on any request to a host other than the server's: the page must
work offline. ``QUNSIM_DEMO_SCREENSHOTS=1`` saves the screenshots under docs/img/
(the README shows them); otherwise they go to the test's temporary folder.

Chromium comes from apt (``.ci/run`` installs it); ``playwright install`` is never used.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# a classroom made quicker for the tests (8 days, 100 clinicians); the page is the same
SCENARIO = """extends = "{classroom}"
[run]
duration_days = 8
[population]
n_clinicians = 100
"""
START_TIMEOUT_S = 180
expect.set_options(timeout=60_000)  # a shared two-core machine can be slow to answer
# each test drives a server and a browser: they run with the slow tests (CI runs those too)
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _qunsim() -> list[str]:
    exe = Path(sys.executable).with_name("qunsim")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sim.paths import shipped_scenario

    folder = tmp_path_factory.mktemp("demo")
    scenario = folder / "classroom_quick.toml"
    scenario.write_text(SCENARIO.format(classroom=shipped_scenario("classroom").as_posix()))
    port = _free_port()
    log = (folder / "server.log").open("w+")
    proc = subprocess.Popen(
        [*_qunsim(), "demo", str(scenario), "--port", str(port)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"qunsim demo exited with {proc.returncode}:\n{log.read()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("qunsim demo did not start listening in time")
                time.sleep(0.5)
        log.seek(0)
        assert f"http://127.0.0.1:{port}/" in log.read()
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), (
        "Debian's chromium is needed (scripts/test.sh installs it as root; or apt-get install chromium)"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def shoot(pg: Page, path: Path) -> None:
    """A tall screenshot, after the tab animations have finished."""
    size = pg.viewport_size
    pg.set_viewport_size({"width": 1600, "height": 1750})
    time.sleep(1.0)
    pg.screenshot(path=str(path))
    if size:
        pg.set_viewport_size(size)


@pytest.fixture
def shots(tmp_path):
    out = ROOT / "docs" / "img" if os.environ.get("QUNSIM_DEMO_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


class Watch:
    """Console errors and requests to other hosts seen by one page."""

    def __init__(self, origin: str):
        self.origin = origin
        self.errors: list[str] = []
        self.outside: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        host = re.match(r"^(\w+)://([^/]+)", url)
        local = host is not None and host.group(2) == self.origin.split("://")[1]
        if local or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


@pytest.fixture
def page(browser: Browser, server: str):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    watch = Watch(server)
    pg.route("**/*", watch.route)
    ctx.route("**/*", watch.route)
    pg.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: watch.errors.append(f"page error: {e}"))
    pg.on(
        "websocket",
        lambda ws: None if ws.url.startswith(server.replace("http", "ws")) else watch.outside.append(ws.url),
    )
    pg.set_default_timeout(60_000)
    pg.goto(server + "/")
    pg.locator("[data-testid=day-baseline]").wait_for(timeout=120_000)
    yield pg
    ctx.close()
    assert not watch.outside, f"requests to other hosts: {watch.outside}"
    assert not watch.errors, f"console errors: {watch.errors}"


# ---------------------------------------------------------------------- helpers
def text(pg: Page, test_id: str) -> str:
    return pg.locator(f"[data-testid={test_id}]").first.inner_text().strip()


def wait_text_change(pg: Page, test_id: str, old: str, timeout: float = 60_000) -> str:
    pg.wait_for_function(
        "([id, old]) => { const e = document.querySelector(`[data-testid=${id}]`); return e && e.innerText.trim() !== old; }",
        arg=[test_id, old],
        timeout=timeout,
    )
    return text(pg, test_id)


def settle(pg: Page, test_id: str = "day-baseline", quiet_s: float = 1.0) -> None:
    """Wait until a monitor stops changing (the server has finished sending a tick)."""
    last, since = text(pg, test_id), time.monotonic()
    while time.monotonic() - since < quiet_s:
        time.sleep(0.2)
        now = text(pg, test_id)
        if now != last:
            last, since = now, time.monotonic()


def choose(pg: Page, select_class: str, option: str) -> None:
    """Pick an option of a select and wait until the menu is closed and the select shows it."""
    pg.locator(f".{select_class}").first.click()
    pg.get_by_role("option", name=option, exact=True).click()
    pg.locator(".menuable__content__active").wait_for(state="hidden")
    pg.wait_for_function(
        "([cls, v]) => { const e = document.querySelector(`.${cls} .v-select__selection`); return e && e.innerText.trim() === v; }",
        arg=[select_class, option],
    )


def set_speed(pg: Page, hours: int) -> None:
    choose(pg, "qs-speed", str(hours))


def slide(pg: Page, key: str, press: str, shows: str) -> None:
    """Press a key on a slider until it shows ``shows`` and the server has taken the value
    (the label above the slider shows it too)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    thumb = pg.locator(f".qs-ctl-{key} [role=slider]")
    for _ in range(3):
        thumb.focus()
        if thumb.get_attribute("aria-valuenow") != shows:
            thumb.press(press)
        try:
            pg.wait_for_function(
                "([id, v]) => { const e = document.querySelector(`[data-testid=ctl-${id}] b`); "
                "return e && e.innerText.trim() === v; }",
                arg=[key, shows],
                timeout=20_000,
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"slider {key} did not take the value {shows}")


def step(pg: Page) -> str:
    old = text(pg, "day-baseline")
    pg.locator(".qs-step").click()
    new = wait_text_change(pg, "day-baseline", old)
    settle(pg)
    return new


def network_states(pg: Page, arm: str) -> list[str]:
    return pg.eval_on_selector_all(f"[data-testid=network-{arm}] [data-state]", "els => els.map(e => e.dataset.state)")


def count(pg: Page, test_id: str) -> int:
    return int(text(pg, test_id).split()[0])


# ------------------------------------------------------------------------ tests
def test_page_loads_offline_steps_and_plays(page: Page, shots: Path):
    assert text(page, "day-baseline") == "day 0, 00:00"
    assert len(network_states(page, "baseline")) == 100
    assert step(page) == "day 0, 06:00"  # Step: one tick of the speed (6 h)
    page.locator(".qs-play").click()
    wait_text_change(page, "day-baseline", "day 0, 06:00")
    time.sleep(3)
    page.locator(".qs-play").click()  # pause
    settle(page)
    paused = text(page, "day-baseline")
    time.sleep(1.5)
    assert text(page, "day-baseline") == paused
    assert paused != "day 0, 06:00"
    assert page.locator("[data-testid=curvebox-baseline] [data-line]").count() >= 3
    assert page.locator("[data-testid=feed-baseline] li").count() >= 1
    shoot(page, shots / "demo_one_arm.png")


def test_a_slider_changes_the_outcome_after_reset(page: Page):
    set_speed(page, 24)
    for _ in range(2):
        step(page)
    before = count(page, "aware-baseline")
    slide(page, "guideline_seeds", "End", "20")  # 20 first holders instead of 2
    page.locator("[data-testid=dirty][data-dirty='1']").wait_for()
    page.locator(".qs-reset").click()
    page.wait_for_function("document.querySelector('[data-testid=day-baseline]').innerText.trim() === 'day 0, 00:00'")
    page.locator("[data-testid=dirty][data-dirty='0']").wait_for(state="attached")
    for _ in range(2):
        step(page)
    after = count(page, "aware-baseline")
    assert after >= 20 > before


def test_two_arms_diverge_after_the_intervention_starts(page: Page, shots: Path):
    choose(page, "qs-intervention", "official broadcast of the guideline")
    slide(page, "start_day", "Home", "0")
    slide(page, "start_day", "ArrowRight", "1")
    slide(page, "start_day", "ArrowRight", "2")  # the intervention starts on day 2
    page.locator(".qs-reset").click()
    page.locator("[data-testid=day-intervention]").wait_for()
    set_speed(page, 24)
    for _ in range(2):
        step(page)
    assert text(page, "day-intervention") == text(page, "day-baseline") == "day 2, 00:00"
    assert network_states(page, "baseline") == network_states(page, "intervention")
    assert text(page, "aware-baseline") == text(page, "aware-intervention")
    step(page)
    step(page)
    assert count(page, "aware-intervention") > count(page, "aware-baseline")
    assert network_states(page, "baseline") != network_states(page, "intervention")
    assert page.locator("[data-testid=difference] [data-mark]").count() == 1  # the start, marked
    assert page.locator("[data-testid=curves-intervention] [data-mark]").count() == 1
    shoot(page, shots / "demo_two_arms.png")


def test_the_language_switches(page: Page, shots: Path):
    from sim.demo.i18n import tr

    set_speed(page, 24)
    step(page)  # a day: the feed has lines to translate
    expect(page.locator("[data-testid=feed-baseline] li")).not_to_have_count(0)
    page.locator(".qs-lang").click()
    # every part re-renders in the same pass, but its updates may reach the browser in
    # several messages: wait for each (expect retries until its timeout)
    expect(page.locator(".qs-title")).to_have_text(tr("title", "zh"))
    expect(page.get_by_role("tab", name=tr("tab.lessons", "zh"))).to_have_count(1)
    legend = page.locator("[data-testid=network-baseline] [data-legend]")
    expect(legend.first).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))
    assert any(tr("state.unaware", "zh") in t for t in legend.all_text_contents())
    expect(page.locator("[data-testid=day-baseline]")).to_have_text(re.compile(r"^第"))
    feed = page.locator("[data-testid=feed-baseline] li")
    expect(feed.first).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))
    assert all(re.search(r"[\u4e00-\u9fff]", t) for t in feed.all_text_contents())
    expect(page.locator(".qs-step")).to_have_text(tr("btn.step", "zh"))
    page.get_by_role("tab", name=tr("tab.lessons", "zh")).click()
    expect(page.get_by_text(tr("lesson.predict", "zh"), exact=True)).to_be_visible()
    shoot(page, shots / "demo_zh_lesson.png")
    page.locator(".qs-lang").click()
    expect(page.locator(".qs-title")).to_have_text(tr("title", "en"))
    expect(page.get_by_text(tr("lesson.predict", "en"), exact=True)).to_be_visible()


def test_many_seed_view_appears(page: Page, shots: Path):
    choose(page, "qs-intervention", "official broadcast of the guideline")
    page.locator(".qs-reset").click()
    page.locator("[data-testid=day-intervention]").wait_for()
    page.get_by_role("tab", name="Many seeds").click()
    page.locator(".qs-run-many").click()
    # progress is shown while the 100 runs go on (a few seconds at least: each run takes ~0.2 s)
    expect(page.locator("[data-testid=many-progress]")).to_have_text(re.compile(r"^\d+ of 100 runs done$"))
    expect(page.locator(".qs-run-many")).to_be_disabled()
    # the run goes on while the class looks at another tab, and its result is there on return
    page.get_by_role("tab", name="Live").click()
    page.locator("[data-testid=day-baseline]").wait_for()
    page.get_by_role("tab", name="Many seeds").click()
    page.locator("[data-testid=fanbox]").wait_for(timeout=900_000)  # ~20 s on a quiet 2-core machine
    fan = page.locator("[data-testid=fan]")
    assert fan.locator("[data-band]").count() == 4  # 10-90% and 25-75% for each arm
    assert fan.locator("[data-line]").count() == 4  # median and this page's run, per arm
    takeoff = text(page, "takeoff")
    assert len(re.findall(r"took off in \d+ of 50 runs", takeoff)) == 2
    assert "Wilson" in takeoff
    shoot(page, shots / "demo_many_seeds.png")


def test_exported_scenario_reproduces_the_page(page: Page, tmp_path: Path):
    set_speed(page, 24)
    for _ in range(3):
        step(page)
    assert text(page, "day-baseline") == "day 3, 00:00"
    page.get_by_role("tab", name="Export").click()
    files = {}
    for label in ("Baseline scenario (TOML)", "Time series (CSV)", "Figures (PNG)"):
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name=label).click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        files[label] = path
    assert files["Figures (PNG)"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "rerun"
    out.mkdir()
    done = subprocess.run(
        [*_qunsim(), "run", str(files["Baseline scenario (TOML)"]), "--out", str(out), "--quiet", "--no-plot"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    theirs = pd.read_parquet(out / "timeseries.parquet")
    ours = pd.read_csv(files["Time series (CSV)"], keep_default_na=False, na_values=[""])
    ours = ours[ours["arm"] == "baseline"]
    theirs = theirs[theirs["t"] <= ours["t"].max() + 1e-9]

    def key(df):
        df = df.assign(item=df["item"].fillna("").astype(str), tier=df["tier"].fillna("").astype(str))
        return df.sort_values(["t", "metric", "item", "tier"]).reset_index(drop=True)

    a, b = key(ours), key(theirs)
    assert len(a) == len(b) > 0
    assert (a["metric"].to_numpy() == b["metric"].to_numpy()).all()
    np.testing.assert_array_equal(a["t"].to_numpy(float), b["t"].to_numpy(float))
    np.testing.assert_array_equal(a["value"].to_numpy(float), b["value"].to_numpy(float))
