"""Run the benchmark workloads for gluondata and its peers; update benchmarks/RESULTS.md.

Usage: ``python benchmarks/run.py [--workloads w1 w2 w3 w4 w5] [--epochs N] [--rounds 1]
[--skip-peers] [--output FILE]`` (default: every workload, each with its own number of timed
epochs). In an existing output file only the sections of the workloads that ran, the header and
*How measured* are replaced; sections written by hand stay as they are.
Peers run with the virtualenvs made by ``benchmarks/setup_peers.sh``; a missing one is noted in
the table. A workload is one module (like ``workloads/w1.py``) defining a ``harness.Workload``,
plus one ``run_<key>`` function in each runner (``peers/``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import report
from harness import Config, Result, Workload
from workloads import w1, w2, w3, w4, w5

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"
WORKLOADS: dict[str, Workload] = {
    w.key: w for w in (w1.WORKLOAD, w2.WORKLOAD, w3.WORKLOAD, w4.WORKLOAD, w5.WORKLOAD)
}


@dataclass(frozen=True)
class Contender:
    """A runner script and the interpreter that runs it."""

    name: str
    python: Path
    script: Path
    peer: bool = False


def _peer(key: str, name: str) -> Contender:
    """A peer: ``peers/<key>_runner.py`` run by the virtualenv ``benchmarks/.venv-<key>``."""
    python = HERE / f".venv-{key}" / "bin" / "python"
    return Contender(name, python, HERE / "peers" / f"{key}_runner.py", peer=True)


CONTENDERS: dict[str, Contender] = {
    "numpy": Contender(
        "no loader, 1 core", Path(sys.executable), HERE / "peers" / "numpy_runner.py"
    ),
    "gluondata": Contender(
        "gluondata", Path(sys.executable), HERE / "peers" / "gluondata_runner.py"
    ),
    "torch": _peer("torch", "PyTorch"),
    "mxnet": _peer("mxnet", "MXNet"),
    "tf": _peer("tf", "tf.data"),
    "grain": _peer("grain", "Grain"),
    "spdl": _peer("spdl", "SPDL"),
}


def run_once(key: str, workload: Workload, config: Config, epochs: int, timeout: float) -> Result:
    """Run one configuration in a fresh subprocess; return its JSON result or ``{"error": ...}``.

    The runner gets its own process group; whatever is left of it afterwards (workers of a run
    that timed out, or that outlived their loader) is killed, so it cannot slow the next run.
    """
    contender = CONTENDERS[key]
    cmd = [
        str(contender.python),
        str(contender.script),
        "--workload",
        workload.key,
        "--workers",
        str(config.workers),
        "--epochs",
        str(epochs),
        "--data",
        str(DATA / workload.key),
        *config.args,
    ]
    env = dict(os.environ)
    if key == "gluondata":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        lines = err.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}


def summarize(key: str, workload: Workload, results: list[Result]) -> report.Outcome:
    """Reduce one configuration's results over the rounds to medians."""
    contender = CONTENDERS[key]
    versions = {
        k: results[0][k] for k in ("library", "version", "python", "numpy") if k in results[0]
    }
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return report.Outcome(contender.name, contender.peer, versions, error=errors[0])
    rates = [r["samples"] * workload.per_sample / t for r in results for t in r["epoch_s"]]
    ttfb = statistics.median(r["ttfb_s"] for r in results)
    parts = {
        k: statistics.median(r["peak_parts"][k] for r in results)
        for k in ("main", "workers", "shared")
    }
    return report.Outcome(
        contender.name,
        contender.peer,
        versions,
        rate=statistics.median(rates),
        ttfb=ttfb,
        main_delta=statistics.median(r["main_delta"] for r in results),
        tree_peak=statistics.median(r["tree_peak"] for r in results),
        uss_peak=statistics.median(r["tree_uss_peak"] for r in results),
        peak_parts=(parts["main"], parts["workers"], parts["shared"]),
        epoch_pss=(
            statistics.median(r["epoch_pss"][0] for r in results),
            statistics.median(r["epoch_pss"][-1] for r in results),
        ),
    )


def run_workload(
    workload: Workload, epochs: int, rounds: int, timeout: float, skip_peers: bool
) -> report.Rows:
    """Make the data, run every configuration ``rounds`` times, and summarize each."""
    workload.make_data(DATA / workload.key)
    unavailable: dict[str, str] = {}
    for key in dict.fromkeys(c.contender for c in workload.configs):
        contender = CONTENDERS[key]
        if contender.peer and skip_peers:
            unavailable[key] = "skipped"
        elif not contender.python.exists():
            unavailable[key] = "missing: run benchmarks/setup_peers.sh"
            print(f"note: {contender.python} not found; {contender.name} marked missing")
    results: dict[int, list[Result]] = {i: [] for i in range(len(workload.configs))}
    for r in range(rounds):
        for i, config in enumerate(workload.configs):
            if config.contender in unavailable:
                continue
            result = run_once(config.contender, workload, config, epochs, timeout)
            results[i].append(result)
            summary = result.get("error") or (
                f"{statistics.median(result['epoch_s']):.3f} s/epoch, "
                f"first batch {result['ttfb_s'] * 1e3:.1f} ms, "
                f"main +{result['main_delta'] / 2**20:.0f} MiB, "
                f"all PSS {result['tree_peak'] / 2**20:.0f} MiB"
            )
            print(
                f"[{workload.key} round {r + 1}/{rounds}] {config.contender} {config.dataset}, "
                f"{report.workers_label(config)}: {summary}",
                flush=True,
            )
    rows = []
    for i, config in enumerate(workload.configs):
        contender = CONTENDERS[config.contender]
        if config.contender in unavailable:
            outcome = report.Outcome(
                contender.name, contender.peer, {}, error=unavailable[config.contender]
            )
        else:
            outcome = summarize(config.contender, workload, results[i])
        rows.append((config, outcome))
    return rows


def main() -> None:
    """Parse the command line, run the workloads, write or update RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workloads", nargs="+", choices=sorted(WORKLOADS), default=sorted(WORKLOADS)
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="timed epochs per run (3-5; default: each workload's own)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of every configuration")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per run")
    parser.add_argument("--skip-peers", action="store_true", help="run gluondata only")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    tables = []
    for key in args.workloads:
        workload = WORKLOADS[key]
        epochs = args.epochs or workload.epochs
        rows = run_workload(workload, epochs, args.rounds, args.timeout, args.skip_peers)
        extra = workload.extra(DATA / workload.key) if workload.extra else ""
        tables.append(report.Table(workload, rows, epochs, extra))
    load = (load_before, os.getloadavg())
    if args.output.exists():
        text = report.merge(args.output.read_text(), tables, args.rounds, load)
        print(f"updated {args.output}: {', '.join(t.workload.title.split(':')[0] for t in tables)}")
    else:
        text = report.render(tables, args.rounds, load)
        print(f"wrote {args.output}")
    args.output.write_text(text)


if __name__ == "__main__":
    main()
