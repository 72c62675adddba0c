"""Start the teaching page: ``qunsim demo [SCENARIO] [--port P] [--host H]``.

The page is a Solara app served by uvicorn. It is offline by construction: Solara's
front end comes from the pinned ``solara-assets`` package (served under
``/_solara/cdn``), the CDN it would otherwise fetch from is pointed at an address that
does not answer, and Solara's telemetry and version checks are off. It binds to
127.0.0.1 unless ``--host`` says otherwise (then it warns: anyone who can reach the
machine can use it). Nothing it serves writes files: downloads are made in memory.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import warnings
from pathlib import Path

__all__ = ["DEFAULT_PORT", "check_scenario", "configure", "serve"]

DEFAULT_PORT = 8765
#: where Solara would fetch missing front-end files from: a closed local port, so a
#: missing asset is an error on the page instead of a request to the internet
NO_CDN = "http://127.0.0.1:9/no-cdn/"
#: a class of 30 with a few reloads each; sessions of closed tabs are dropped after a minute
MAX_SESSIONS = 80
CULL_TIMEOUT = "60s"


def configure(scenario_path: str) -> None:
    """Solara's settings come from the environment, read when solara is first imported."""
    os.environ["QUNSIM_DEMO_SCENARIO"] = scenario_path
    os.environ["SOLARA_APP"] = "sim.demo.app"
    os.environ["SOLARA_MODE"] = "production"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_CDN"] = NO_CDN
    os.environ["SOLARA_ASSETS_PROXY"] = "True"
    os.environ["SOLARA_THEME_LOADER"] = "plain"
    os.environ["SOLARA_THEME_VARIANT"] = "light"
    os.environ["SOLARA_KERNEL_CULL_TIMEOUT"] = CULL_TIMEOUT
    os.environ["SOLARA_KERNEL_MAX_COUNT"] = str(MAX_SESSIONS)
    os.environ.setdefault("SOLARA_CACHE", "memory")


def check_scenario(scenario: str | None):
    """Resolve ``scenario`` (a path or a shipped name; default classroom) and check it is small
    enough to run live. Returns (path, Scenario); raises ScenarioError with the reason."""
    from ..config import ScenarioError, load_scenario
    from ..paths import shipped_scenario
    from .controls import LIMITS

    if scenario is None:
        path = shipped_scenario("classroom")
        assert path is not None
    else:
        path = Path(scenario)
        if not path.exists():
            shipped = shipped_scenario(scenario)
            if shipped is not None:
                path = shipped
    sc = load_scenario(path)
    n = sc.population.n_clinicians
    if n > LIMITS.max_scenario_clinicians:
        raise ScenarioError(
            f"{path}: population.n_clinicians = {n:,} is too large for the live page; "
            f"`qunsim demo` runs scenarios of at most {LIMITS.max_scenario_clinicians:,} clinicians "
            f"(use `qunsim run` for large ones)"
        )
    if not any(it.kind != "correction" for it in sc.information.items):
        raise ScenarioError(
            f"{path}: information.items has no guideline, rumor or case report; "
            "the page colours the network by one (allowed: a scenario with at least one item)"
        )
    return str(Path(path).resolve()), sc


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is not "in use"
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serve(scenario: str | None = None, host: str = "127.0.0.1", port: int = DEFAULT_PORT, warm: bool = True) -> int:
    """Run the page until interrupted. Returns an exit code (2: bad input)."""
    path, sc = check_scenario(scenario)
    if not 1 <= port <= 65535:
        print(f"qunsim demo: --port {port} is not allowed; give a port between 1 and 65535", file=sys.stderr)
        return 2
    if not port_free(host, port):
        print(
            f"qunsim demo: --host {host} --port {port}: the address is in use or not available; choose another --port",
            file=sys.stderr,
        )
        return 2
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"qunsim demo: WARNING: listening on {host}: anyone who can reach this machine on port {port} can "
            "use the page (and its CPU). Use this only on a classroom network you trust.",
            file=sys.stderr,
        )
    configure(path)
    warnings.filterwarnings("ignore", message="Cookies with samesite=none")
    import uvicorn

    from . import ensemble

    if warm:
        ensemble.warm_up()
        from .page import Demo

        Demo(sc)  # load the model's compiled kernels now, not when the first student connects
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = socket.gethostname()  # every address of this machine: students use its name or address
    print(
        f"qunsim demo: {sc.run.name!r} ({sc.population.n_clinicians} clinicians) at http://{shown}:{port}/ "
        "(Ctrl-C to stop)",
        flush=True,
    )

    def stop(signum, frame):  # uvicorn re-raises SIGTERM after its graceful shutdown: end here, cleanly
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    config = uvicorn.Config(
        "solara.server.starlette:app",
        host=host,
        port=port,
        log_level="warning",
        ws_max_size=8 * 1024 * 1024,
        # a busy classroom server may answer pings late; do not drop a student for that
        ws_ping_interval=30.0,
        ws_ping_timeout=300.0,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        ensemble.shutdown()
    return 0
