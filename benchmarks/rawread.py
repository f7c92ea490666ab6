"""W4's raw record read throughput: gluondata reading every record in order, against ``cat``.

``section(root)`` runs this file as a script in a fresh subprocess of the driver's interpreter
(gluondata imported from the working tree) and renders its figures as markdown. The script
reads the file once untimed (so every reader gets it from the page cache), then times
``REPEATS`` interleaved passes of each reader over the whole file and prints one JSON line:

- ``cat images.rec > /dev/null``, a subprocess (its start-up, timed as ``cat /dev/null``,
  is shown under the table);
- gluondata's ``MXRecordIO.read()`` until the end (the sequential reader);
- gluondata's ``MXIndexedRecordIO.read_idx`` over the keys in .idx order;
- W4's pure-Python ``RecordReader`` (one ``pread`` per record) in .idx order.

    python benchmarks/rawread.py benchmarks/data/w4/images.rec
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPEATS = 5
READERS = {
    "cat": "`cat images.rec > /dev/null`",
    "sequential": "gluondata `MXRecordIO.read()` until the end",
    "indexed": "gluondata `MXIndexedRecordIO.read_idx(key)`, keys in .idx order",
    "pure_python": "W4's pure-Python `RecordReader` (one `pread` per record), .idx order",
}


def _cat(rec: str) -> int:
    subprocess.run(["cat", rec], stdout=subprocess.DEVNULL, check=True)
    return 0


def _sequential(rec: str) -> int:
    from gluondata.recordio import MXRecordIO

    n = 0
    with MXRecordIO(rec, "r") as reader:
        while reader.read() is not None:
            n += 1
    return n


def _indexed(rec: str) -> int:
    from gluondata.recordio import MXIndexedRecordIO

    with MXIndexedRecordIO(str(Path(rec).with_suffix(".idx")), rec, "r") as reader:
        for key in reader.keys:
            reader.read_idx(key)
        return len(reader.keys)


def _pure_python(rec: str) -> int:
    from workloads.record_reader import RecordReader

    reader = RecordReader(rec)
    for i in range(len(reader)):
        reader.read(i)
    return len(reader)


def measure(rec: str, repeats: int) -> dict[str, object]:
    """Seconds per pass of each reader (``repeats`` each, interleaved), records read, bytes."""
    readers: dict[str, Callable[[str], int]] = {
        "cat": _cat,
        "sequential": _sequential,
        "indexed": _indexed,
        "pure_python": _pure_python,
    }
    _cat(rec)  # into the page cache
    times: dict[str, list[float]] = {k: [] for k in readers}
    records: dict[str, int] = {}
    for _ in range(repeats):
        for key, read in readers.items():
            start = time.perf_counter()
            records[key] = read(rec)
            times[key].append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(repeats):
        _cat(os.devnull)  # an empty file: the process start-up alone
    startup = (time.perf_counter() - start) / repeats
    return {"times": times, "records": records, "bytes": os.path.getsize(rec), "cat_start": startup}


def section(root: Path) -> str:
    """Run the measurement in a fresh subprocess; return it as a markdown table."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    rec = str(root / "images.rec")
    cmd = [sys.executable, str(Path(__file__).resolve()), rec, "--repeats", str(REPEATS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return f"Raw record read: failed ({lines[-1] if lines else proc.returncode})."
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    size = result["bytes"]
    out = [
        f"Raw record read of the {size / 1e6:.1f} MB .rec ({result['records']['sequential']} "
        f"records) from the page cache, one core, median of {REPEATS} passes (MB = 10^6 bytes):",
        "",
        "| reader | MB/s | records/s | vs `cat` |",
        "|---|---|---|---|",
    ]
    cat = statistics.median(result["times"]["cat"])
    for key, name in READERS.items():
        t = statistics.median(result["times"][key])
        per_record = "-" if key == "cat" else f"{result['records'][key] / t:,.0f}"
        out.append(f"| {name} | {size / 1e6 / t:,.0f} | {per_record} | {cat / t:.2f}x |")
    out.append(
        f"\n`cat` is timed as a subprocess: {result['cat_start'] * 1e3:.1f} ms of its "
        f"{cat * 1e3:.1f} ms is process start-up (timed as `cat /dev/null`)."
    )
    return "\n".join(out)


def main() -> None:
    """Measure the readers on the .rec given on the command line; print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rec", help="the .rec file (its .idx next to it)")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    print(json.dumps(measure(args.rec, args.repeats)))


if __name__ == "__main__":
    main()
