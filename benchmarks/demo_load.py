"""The teaching page under a class: step time, a full class of browsers, many seeds.

    python -m benchmarks.demo_load [--sessions 30] [--seconds 60] [--out DIR] [--skip-browser]

1. **Step time.** One step of the classroom scenario computed and drawn on the server
   (step, snapshot, every SVG of the live view) for one arm and for two arms; median and
   95th percentile over 200 steps. Target: 150 ms.
   The same through the page itself: a press of *Step* on the Solara page rendered in this
   process (at the default speed a tick is 6 hours: six model steps, then the snapshot, the
   SVGs and Solara's render of the changed widgets; no browser).
2. **Round trip.** In Chromium: press Step and wait until the page shows the new time
   (server work, websocket, browser update); median over 20 presses.
3. **A class.** ``--sessions`` Chromium pages (one browser, one context each: separate
   sessions with their own models) connected to one ``qunsim demo`` server, all pressing
   Play at 6 hours per tick for ``--seconds``; then each must have advanced and must answer
   a Step after Pause. Server memory (RSS, children excluded) before any session and with
   all connected gives the memory per session.
4. **Many seeds.** 50 seeds of each of two arms of the classroom scenario on the server's
   pool of two workers (warm), as the page's button runs them.

Prints the figures and writes ``demo_load.json`` to ``--out``. The browser runs on the same
machine as the server, so under a full class the two compete for the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _classroom() -> Path:
    from sim.paths import shipped_scenario

    path = shipped_scenario("classroom")
    assert path is not None
    return path


def step_time(n_steps: int = 200) -> dict:
    from sim.config import load_scenario
    from sim.demo import page

    sc = load_scenario(_classroom())
    out = {}
    for label, iv in (("one_arm", None), ("two_arms", "official_correction")):
        demo = page.Demo(sc)
        demo.intervention = iv
        demo.reset()
        times = []
        for k in range(n_steps):
            t0 = time.perf_counter()
            demo.advance(steps=1)
            snap = demo.snapshot()
            item = snap.items[k % len(snap.items)].name
            for arm in snap.arms:
                page.render_network(snap, arm, item, "en")
                page.render_curves(snap, arm, item, "en")
            page.render_diff(snap, item, "en")
            page.render_km(snap, "en")
            times.append((time.perf_counter() - t0) * 1000)
        out[label] = {
            "median_ms": statistics.median(times),
            "p95_ms": _pct(times, 0.95),
            "max_ms": max(times),
            "steps": n_steps,
        }
    return out


def page_step_time(n_clicks: int = 50) -> dict:
    """Presses of Step on the page rendered in this process: everything the server does for
    a tick (six hourly model steps at the default speed, the snapshot, the SVGs, Solara's
    render), without the websocket."""
    import ipyvuetify as v
    import solara

    os.environ["QUNSIM_DEMO_SCENARIO"] = str(_classroom())
    from sim.demo import app

    _, rc = solara.render(app.Page(), handle_error=False)
    step = next(w for w in rc.find(v.Btn).widgets if "qs-step" in (w.class_ or ""))
    step.click()  # the first press also starts the page's threads
    times = []
    for _ in range(n_clicks):
        t0 = time.perf_counter()
        step.click()
        times.append((time.perf_counter() - t0) * 1000)
    rc.close()
    return {"median_ms": statistics.median(times), "p95_ms": _pct(times, 0.95), "clicks": n_clicks}


def many_seeds() -> dict:
    from sim.config import load_scenario
    from sim.demo import controls, ensemble

    sc = load_scenario(_classroom())
    base, iv = controls.build_scenarios(sc, {}, seed=1, intervention="broadcast_guideline", start_day=5)
    assert iv is not None
    ensemble.warm_up()
    ensemble.start({"baseline": base}, [0, 1], "guideline").wait()  # both workers warm
    job = ensemble.start({"baseline": base, "intervention": iv}, list(range(1, 51)), "guideline")
    runs = job.wait()
    ensemble.shutdown()
    assert runs is not None
    s = {arm: ensemble.summarise(r, "guideline") for arm, r in runs.items()}
    return {
        "runs": job.total,
        "seconds": job.elapsed,
        "takeoff": {arm: {"k": v.took_off, "n": v.n, "p": v.p, "lo": v.lo, "hi": v.hi} for arm, v in s.items()},
    }


class Server:
    def __init__(self, port: int, log: Path):
        exe = Path(sys.executable).with_name("qunsim")
        self.log = open(log, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [str(exe), "demo", "--port", str(port)], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("qunsim demo did not start") from None
                time.sleep(0.5)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _day(pg) -> str:
    return pg.locator("[data-testid=day-baseline]").inner_text().strip()


def _wait_change(pg, old: str, timeout: float = 120_000) -> None:
    pg.wait_for_function(
        "(old) => document.querySelector('[data-testid=day-baseline]').innerText.trim() !== old",
        arg=old,
        timeout=timeout,
    )


def browser(sessions: int, seconds: float, port: int, log: Path) -> dict:
    from playwright.sync_api import sync_playwright

    server = Server(port, log)
    out: dict = {}
    try:
        time.sleep(5)
        out["server_rss_mb_idle"] = _rss_mb(server.proc.pid)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # round trip of one Step, one session alone
            ctx = b.new_context(viewport={"width": 1400, "height": 900})
            pg = ctx.new_page()
            pg.set_default_timeout(120_000)
            pg.goto(server.url + "/")
            pg.locator("[data-testid=day-baseline]").wait_for()
            rts = []
            for _ in range(20):
                old = _day(pg)
                t0 = time.perf_counter()
                pg.locator(".qs-step").click()
                _wait_change(pg, old)
                rts.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.3)
            out["step_round_trip_ms"] = {"median": statistics.median(rts), "p95": _pct(rts, 0.95)}
            ctx.close()
            time.sleep(2)
            base_rss = _rss_mb(server.proc.pid)
            _log(f"round trip {out['step_round_trip_ms']}")
            # a class
            pages, t_open = [], time.perf_counter()
            for _ in range(sessions):
                c = b.new_context(viewport={"width": 1400, "height": 900})
                q = c.new_page()
                q.set_default_timeout(300_000)
                q.goto(server.url + "/")
                pages.append(q)
            for q in pages:
                q.locator("[data-testid=day-baseline]").wait_for()
            out["seconds_to_open_all"] = time.perf_counter() - t_open
            _log(f"{sessions} sessions open after {out['seconds_to_open_all']:.0f} s")
            rss_connected = _rss_mb(server.proc.pid)
            for q in pages:  # 1 hour per tick: no session reaches the end of its run while we watch
                q.locator(".qs-speed").first.click()
                q.get_by_role("option", name="1", exact=True).click()
                q.locator(".menuable__content__active").wait_for(state="hidden")
            start_days = [_day(q) for q in pages]
            cpu0, t_play = _cpu_s(server.proc.pid), time.perf_counter()
            for q in pages:
                q.locator(".qs-play").click()
            _log("all playing")
            time.sleep(seconds)
            for q in pages:
                if q.locator(".qs-play").is_enabled():
                    q.locator(".qs-play").click()  # pause
            played = time.perf_counter() - t_play
            server_cpu = _cpu_s(server.proc.pid) - cpu0
            _log("all paused")
            time.sleep(3)
            rss_played = _rss_mb(server.proc.pid)
            days = [_day(q) for q in pages]
            advanced = sum(d != s for d, s in zip(days, start_days, strict=True))
            answered, rts = 0, []
            overlays = [
                q.locator(".v-overlay--active").first.inner_text(timeout=2000).strip()
                for q in pages
                if q.locator(".v-overlay--active").count()
            ]
            out["sessions_showing_an_overlay"] = len(overlays)  # Solara's "server disconnected"
            _log(f"{len(overlays)} sessions show an overlay")
            for q in pages:
                try:
                    old = _day(q)
                    t0 = time.perf_counter()
                    q.locator(".qs-step").click(timeout=60_000)
                    _wait_change(q, old, timeout=60_000)
                    answered += 1
                    rts.append((time.perf_counter() - t0) * 1000)
                except Exception:  # reported below as a session that did not answer
                    pass
            _log(f"{answered} of {sessions} answered a Step after the pause")

            def sim_days(text: str) -> float:
                d, hh = text.replace("day ", "").split(", ")
                return int(d) + int(hh.split(":")[0]) / 24

            progress = [sim_days(d) for d in days]
            hours_simulated = 24 * sum(sim_days(d) - sim_days(s) for d, s in zip(days, start_days, strict=True))
            out.update(
                {
                    "sessions": sessions,
                    "seconds_played": played,
                    "sessions_advanced": advanced,
                    "sessions_answering_step_after": answered,
                    "step_round_trip_ms_under_load": {
                        "median": statistics.median(rts) if rts else None,
                        "p95": _pct(rts, 0.95) if rts else None,
                    },
                    "simulated_days_reached": {
                        "min": min(progress),
                        "median": statistics.median(progress),
                        "max": max(progress),
                    },
                    "server_rss_mb_before_class": base_rss,
                    "server_rss_mb_connected": rss_connected,
                    "server_rss_mb_after_play": rss_played,
                    "mb_per_session": (rss_played - base_rss) / sessions,
                    "server_cpu_seconds_while_playing": server_cpu,
                    "server_cpu_ms_per_simulated_hour": 1000 * server_cpu / max(hours_simulated, 1e-9),
                }
            )
            b.close()
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--port", type=int, default=8877)
    ap.add_argument("--out", default="results/demo_load")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--skip-many", action="store_true")
    args = ap.parse_args(argv)
    res: dict = {"load_average_at_start": os.getloadavg()}
    res["step_time"] = step_time()
    res["step_time"]["page_one_arm"] = page_step_time()
    print(json.dumps({"step_time": res["step_time"]}, indent=1), flush=True)
    if not args.skip_many:
        res["many_seeds"] = many_seeds()
        print(json.dumps({"many_seeds": res["many_seeds"]}, indent=1), flush=True)
    if not args.skip_browser:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        res["class"] = browser(args.sessions, args.seconds, args.port, out / "server.log")
        print(json.dumps({"class": res["class"]}, indent=1), flush=True)
    res["load_average_at_end"] = os.getloadavg()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_load.json").write_text(json.dumps(res, indent=1))
    print(f"written {out / 'demo_load.json'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
