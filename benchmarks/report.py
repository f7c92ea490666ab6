"""Render the driver's measurements as benchmarks/RESULTS.md, or merge them into it.

RESULTS.md mixes generated sections (the header, one ``### Wn ...`` section per workload and
*How measured*) with sections written by hand. :func:`merge` replaces only the generated sections
a run produced and keeps every other byte of the file where it was.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from harness import Config, Target, Workload
from memory import INTERVAL_S

MIB = 2**20


@dataclass(frozen=True)
class Outcome:
    """One configuration's summary over all rounds.

    Attributes
    ----------
    name : str
        Contender as shown in the table (without version).
    peer : bool
        Whether gluondata is compared against this contender.
    versions : dict
        ``library``, ``version``, ``python`` and ``numpy`` as the runner reported them.
    rate : float or None
        Median throughput over every timed epoch, in the workload's unit.
    ttfb : float or None
        Median time to first batch of the warm-up epochs, seconds.
    error : str or None
        Why there is no measurement (error's first line, "missing ...", "skipped").
    main_delta : float or None
        Median peak anonymous memory of the main process above its post-warm-up baseline, bytes.
    tree_peak : float or None
        Median peak PSS of all processes together, bytes.
    uss_peak : float or None
        Median peak USS of all processes together, bytes.
    peak_parts : (float, float, float) or None
        The PSS peak split into the main process, the workers (both without shared memory)
        and shared memory (medians over rounds), bytes.
    epoch_pss : (float, float) or None
        All processes' PSS at the end of the first and of the last timed epoch (medians over
        rounds), bytes.
    """

    name: str
    peer: bool
    versions: dict[str, str]
    rate: float | None = None
    ttfb: float | None = None
    error: str | None = None
    main_delta: float | None = None
    tree_peak: float | None = None
    uss_peak: float | None = None
    peak_parts: tuple[float, float, float] | None = None
    epoch_pss: tuple[float, float] | None = None


Rows = list[tuple[Config, Outcome]]


@dataclass(frozen=True)
class Table:
    """One workload's rows, in run order, the timed epochs each run had, and its extra section."""

    workload: Workload
    rows: Rows
    epochs: int
    extra: str = ""


def _number(value: float) -> str:
    """Three significant digits, with k/M suffixes for large values."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _seconds(value: float) -> str:
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def _mib(value: float) -> str:
    return f"{value / MIB:.0f} MiB"


MEMORY_HEAD = [
    "main process: peak above baseline (anon)",
    "all processes: PSS peak (USS)",
    "PSS peak: main / workers / shared memory",
    "all PSS: epoch 1 → last",
]


def _memory_cells(workload: Workload, outcome: Outcome) -> list[str]:
    """The cells of ``MEMORY_HEAD``."""
    main = _mib(outcome.main_delta or 0.0)
    if workload.batch_bytes:
        main += f" ({(outcome.main_delta or 0.0) / workload.batch_bytes:.2f} batches)"
    peak = f"{_mib(outcome.tree_peak or 0.0)} ({_mib(outcome.uss_peak or 0.0)})"
    parts = " / ".join(_mib(p) for p in outcome.peak_parts) if outcome.peak_parts else "-"
    first, last = outcome.epoch_pss or (0.0, 0.0)
    growth = f" ({(last / first - 1) * 100:+.1f}%)" if first else ""
    return [main, peak, parts, f"{_mib(first)} → {_mib(last)}{growth}"]


def workers_label(config: Config) -> str:
    """``num_workers`` and how they run, e.g. "2 threads"."""
    return f"{config.workers} {config.mode}".strip()


def _contender(outcome: Outcome) -> str:
    version = outcome.versions.get("version")
    if outcome.name == "no loader, 1 core" or not version:
        return outcome.name
    return f"{outcome.name} {version}"


def _reference(rows: Rows, config: Config, peer: str) -> Outcome | None:
    """The peer's row to compare ``config`` with: same workers and the same dataset label if
    the peer has it, else the peer's fastest row with the same workers (its own fastest way)."""
    same = [(c, o) for c, o in rows if o.name == peer and c.workers == config.workers]
    exact = [o for c, o in same if c.dataset == config.dataset]
    if exact:
        return exact[0]
    measured = [o for _, o in same if o.rate is not None]
    return max(measured, key=lambda o: o.rate or 0.0) if measured else None


def _ratio(rows: Rows, config: Config, outcome: Outcome, peer: str) -> str:
    if outcome.name != "gluondata":
        return ""
    ref = _reference(rows, config, peer)
    if outcome.rate is None or ref is None or ref.rate is None:
        return "-"
    return f"{outcome.rate / ref.rate:.2f}x"


def table(result: Table, stamp: str = "") -> str:
    """The markdown section of one workload; ``stamp`` (when and under what load it ran) is
    printed under its title."""
    workload, rows = result.workload, result.rows
    peers = list(dict.fromkeys(o.name for _, o in rows if o.peer))
    head = [
        "contender",
        "dataset",
        "workers",
        f"{workload.unit} (median)",
        "time to first batch",
        *MEMORY_HEAD,
        *(f"gluondata / {p}" for p in peers),
    ]
    intro = f"{result.epochs} timed epochs per run."
    if workload.note:
        intro += " " + workload.note
    lines = [
        f"### {workload.title}",
        "",
        *([f"*{stamp}*", ""] if stamp else []),
        intro,
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for config, outcome in rows:
        if outcome.error is not None:
            cells = [f"n/a ({outcome.error})", "-", *("-" for _ in MEMORY_HEAD)]
        else:
            cells = [
                _number(outcome.rate or 0.0),
                _seconds(outcome.ttfb or 0.0),
                *_memory_cells(workload, outcome),
            ]
        ratios = [_ratio(rows, config, outcome, p) for p in peers]
        row = [_contender(outcome), config.dataset, workers_label(config), *cells, *ratios]
        lines.append("| " + " | ".join(row) + " |")
    if workload.targets:
        lines += ["", *(_target(rows, t) for t in workload.targets)]
    if result.extra:
        lines += ["", result.extra]
    return "\n".join(lines)


def _target(rows: Rows, target: Target) -> str:
    """One bullet: the goal, the ratio reached in this run, and whether it is met."""
    rates = {config: outcome.rate for config, outcome in rows}
    row, ref = rates.get(target.row), rates.get(target.reference)
    if row is None or ref is None:
        return f"- {target.text}: not measured"
    ratio = row / ref
    verdict = "met" if ratio >= target.factor else "**not met**"
    return f"- {target.text}: {ratio:.2f}x ({_number(row)} / {_number(ref)}), {verdict}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions(results: list[Rows]) -> str:
    """The table of library, Python and numpy versions of each contender."""
    seen: dict[str, dict[str, str]] = {}
    for rows in results:
        for _, outcome in rows:
            if outcome.versions and outcome.name not in seen:
                seen[outcome.name] = outcome.versions
    lines = ["| contender | library | Python | numpy |", "|---|---|---|---|"]
    for name, v in seen.items():
        lines.append(
            f"| {name} | {v.get('library', '')} {v.get('version', '')} "
            f"| {v.get('python', '')} | {v.get('numpy', '')} |"
        )
    return "\n".join(lines)


MEMORY_NOTES = [
    f"- Memory is sampled by a thread of the runner every {INTERVAL_S * 1e3:g} ms during the "
    "timed epochs (`benchmarks/memory.py`: psutil's `memory_full_info()` and Linux's /proc); "
    "MiB = 2^20 bytes.",
    "- *main process: peak above baseline (anon)*: the highest `RssAnon` (anonymous resident "
    "memory, no shared and no file-backed pages) of the main process during the timed epochs, "
    "minus its value right after the warm-up epoch (after a `gc.collect()`). Batches that live "
    "in shared memory (gluondata's ring, PyTorch's and MXNet's shared tensors) are not in it. "
    "Where the table gives it in batches, one batch is the size of a batch's arrays as float32.",
    "- *all processes: PSS peak (USS)*: the highest sum over the main process and all its "
    "descendants (the worker processes) of PSS — every resident page a process maps, a page "
    "shared by n processes counted 1/n in each, so a shared ring or copy-on-write pages "
    "inherited by forked workers count once, and file-backed pages count where they are "
    "mapped and touched (each interpreter's libraries; W2's memory-mapped file, read by every "
    "contender) — and in brackets the highest sum of USS (pages only one process maps). The "
    "memory a run really holds; it includes each interpreter with its imported libraries "
    "(a process-based loader pays for one per worker).",
    "- *PSS peak: main / workers / shared memory*: that peak split into the main process's "
    "and the workers' PSS without shared memory, and all processes' shared memory "
    "(`Pss_Shmem`: gluondata's ring, PyTorch's shared tensors).",
    "- *all PSS: epoch 1 → last*: all processes' PSS at the end of the first and of the last "
    "timed epoch (after the clock stopped, before the epoch's iterator is released), and the "
    "growth. PyTorch (default `persistent_workers=False`) starts new workers every epoch.",
]


HEADER = [
    "# Benchmark results",
    "",
    "The workload sections (W1 to W5) and *How measured* are generated by "
    "`python benchmarks/run.py`, which replaces only the sections of the workloads it ran; "
    "the other sections are written by hand. Workloads and protocol: the project's WORKLOADS.md.",
    "",
]


def _stamp(load: tuple[tuple[float, ...], tuple[float, ...]] | None) -> str:
    """When the run was, and the load average at its start and end."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if load is None:
        return f"Run finished {now}."
    start, end = (", ".join(f"{v:.1f}" for v in values) for values in load)
    return (
        f"Run finished {now}; load average (1, 5, 15 min) {start} at the start of the run "
        f"and {end} at its end (other jobs shared the cores)."
    )


def _how_measured(rounds: int) -> list[str]:
    """The protocol section, without its versions table."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return [
        "## How measured",
        "",
        f"- Machine: {os.cpu_count()} CPUs (nproc {affinity}), {_cpu_model()}, "
        f"{platform.system()} {platform.release()}. The date and load of each workload's run are "
        "under its title.",
        f"- Every configuration runs in a fresh subprocess of its contender's interpreter; the "
        f"contenders run back to back in one invocation, in the table's order, {rounds} "
        f"round(s), so they share the same machine state.",
        "- Protocol: build the loader, one warm-up epoch, then the timed epochs (the number is "
        "under each table's title); the throughput is the median over all timed epochs (of all "
        "rounds). An epoch is what the workload's title says; one cut short is released after "
        "the clock stops. The consumer only reads "
        "each batch's shapes (no copy). MXNet's clock stops after `mx.nd.waitall()`.",
        "- Time to first batch: from the start of the loader's construction to the first batch "
        "of the warm-up epoch (so worker start-up counts, whether a library starts workers in "
        "its constructor or in `iter()`); median over rounds.",
        "- Peers get the same per-sample Python code (the user's `__getitem__`, a subclass of "
        "each library's own `Dataset`). Each gluondata row's ratio is to the peer's row with "
        "the same number of workers and the same dataset where the peer has it, else to the "
        "peer's fastest row with that number of workers (its own fastest way). Peers keep "
        "their defaults: PyTorch's default collate (numpy samples become tensors, stacked with "
        "`torch.stack` on its intra-op thread pool, one thread per core), MXNet's default "
        "batchify and engine.",
        *MEMORY_NOTES,
        '- gluondata is imported from this working tree. The "no loader, 1 core" row is a bare '
        "numpy loop over single samples (in the workload's order: shuffled or not), stacked "
        "into batches with numpy.",
        "- Shared machines are noisy: compare ratios within one run, never absolute figures "
        "across runs.",
        "",
    ]


def render(
    tables: list[Table],
    rounds: int,
    load: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
) -> str:
    """The whole RESULTS.md of one run.

    Parameters
    ----------
    tables : list of Table
        Each workload with its rows in run order.
    rounds : int
        How many times every configuration was run.
    load : pair of load averages, optional
        ``os.getloadavg()`` when the run started and when it ended.
    """
    stamp = _stamp(load)
    parts = [
        *HEADER,
        *(table(t, stamp) + "\n" for t in tables),
        *_how_measured(rounds),
        _versions([t.rows for t in tables]),
        "",
    ]
    return "\n".join(parts)


# a heading of level 1 to 3 opens a section; generated sections are keyed by what they hold
_HEADING = re.compile(r"#{1,3} ")
_WORKLOAD_HEADING = re.compile(r"### (W\d+)\b")
HOW_MEASURED = "## How measured"


def _section_key(heading: str) -> str | None:
    """``"W1"`` for a workload's section, ``"#"`` for the header, ``"how"`` for *How
    measured*; None for a section written by hand."""
    workload = _WORKLOAD_HEADING.match(heading)
    if workload:
        return workload.group(1)
    if heading.startswith("# "):
        return "#"
    if heading.rstrip() == HOW_MEASURED:
        return "how"
    return None


def sections(text: str) -> list[tuple[str | None, str]]:
    """Split markdown into ``(key, text)`` sections, each from a heading to the next.

    Their texts joined give ``text`` back exactly. Text before the first heading is a section
    of its own with key None; headings inside code fences do not count.
    """
    found: list[tuple[str | None, list[str]]] = [(None, [])]
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and _HEADING.match(line):
            found.append((_section_key(line), []))
        found[-1][1].append(line)
    return [(key, "".join(lines)) for key, lines in found if lines]


def _table_rows(text: str, head: str) -> dict[str, str]:
    """The rows of the markdown table under the line ``head`` in ``text``, by first cell."""
    lines = text.splitlines()
    if head not in lines:
        return {}
    rows: dict[str, str] = {}
    for line in lines[lines.index(head) + 2 :]:
        if not line.startswith("|"):
            break
        rows[line.split("|")[1].strip()] = line
    return rows


def _merged_how_measured(old: str, new: str) -> str:
    """The new *How measured* (which ends with the versions table), its versions table keeping
    the old rows of contenders this run did not measure."""
    head = "| contender | library | Python | numpy |"
    rows = {**_table_rows(old, head), **_table_rows(new, head)}
    before, _, _ = new.partition(head)
    return before + "\n".join([head, "|---|---|---|---|", *rows.values()]) + "\n"


def _insert_at(merged: list[tuple[str | None, str]], key: str) -> int:
    """Where a workload section missing from the file goes: after the workload sections that
    sort before it, else before the first workload section, else before *How measured*."""
    workloads = [i for i, (k, _) in enumerate(merged) if k is not None and k[0] == "W"]
    earlier = [i for i in workloads if _workload_number(merged[i][0]) < _workload_number(key)]
    if earlier:
        return earlier[-1] + 1
    if workloads:
        return workloads[0]
    keys = [k for k, _ in merged]
    return keys.index("how") if "how" in keys else len(merged)


def _workload_number(key: str | None) -> int:
    return int(key[1:]) if key else -1


def merge(
    existing: str,
    tables: list[Table],
    rounds: int,
    load: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
) -> str:
    """RESULTS.md ``existing`` with this run's sections in place of the old ones.

    The header (from the title to the next heading), the sections of the workloads in
    ``tables`` and *How measured* (whose versions table keeps the rows of contenders not in this
    run) are replaced where they are; a workload section or *How measured* the file lacks is
    added (workloads in workload order). Every other section, written by hand
    or from earlier runs, is kept byte for byte where it is. Parameters as in :func:`render`.
    """
    fresh = dict(sections(render(tables, rounds, load)))
    merged: list[tuple[str | None, str]] = []
    for key, text in sections(existing):
        if key is not None and key in fresh:
            new = fresh.pop(key)
            if key == "how":
                new = _merged_how_measured(text, new)
            # the line breaks after a section are the file's spacing: keep them
            text = new.rstrip("\n") + text[len(text.rstrip("\n")) :]
        merged.append((key, text))
    fresh.pop("#", None)  # a file without the header is not made by run.py: add none
    how = fresh.pop("how", None)
    for key, text in fresh.items():
        _put(merged, _insert_at(merged, key), (key, text))
    if how is not None:
        _put(merged, len(merged), ("how", how))
    return "".join(text for _, text in merged)


def _put(merged: list[tuple[str | None, str]], at: int, section: tuple[str | None, str]) -> None:
    """Insert ``section`` at ``at``, ending the section before it with a blank line if it
    ended without a line break (the end of the file)."""
    if at > 0 and not merged[at - 1][1].endswith("\n"):
        key, text = merged[at - 1]
        merged[at - 1] = (key, text + "\n\n")
    merged.insert(at, section)
