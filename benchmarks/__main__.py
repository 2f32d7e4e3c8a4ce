"""`make bench`: every benchmark, one after the other, figures printed and kept.

Benchmarks measure speed and memory targets side by side in one run (never as timed tests:
the machines are shared and noisy). Each module is run as its own process so one's memory
does not colour the next one's figures. Output goes to the terminal and to
bench-results/<UTC timestamp>.txt.
"""

from __future__ import annotations

import datetime as dt
import pkgutil
import subprocess
import sys
from pathlib import Path

from lifecycle_dash.stack.orphans import die_with_parent

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
# Domain first, then the simulator, then the paths that build on both.
ORDER = ["lifecycle_throughput", "kubesim_watch", "watch_loop", "ingest_throughput"]


def _modules() -> list[str]:
    found = {m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])} - {"__main__"}
    found = {name for name in found if not name.startswith("_")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def main(argv: list[str]) -> int:
    known = _modules()
    unknown = [name for name in argv if name not in known]
    if unknown:
        # Options belong to each module: python -m benchmarks.<name> --help
        print(f"usage: python -m benchmarks [NAME ...]; names: {', '.join(known)}")
        print(f"unknown: {' '.join(unknown)} (options: python -m benchmarks.<name> --help)")
        return 2
    wanted = argv or known
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = RESULTS / f"{stamp}.txt"
    failures = 0
    with out_path.open("w") as out:
        for name in wanted:
            header = f"\n=== benchmarks.{name} ===\n"
            print(header, end="", flush=True)
            out.write(header)
            process = subprocess.Popen(
                [sys.executable, "-m", f"benchmarks.{name}"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                preexec_fn=die_with_parent,
            )
            assert process.stdout is not None
            for line in process.stdout:
                print(line, end="", flush=True)
                out.write(line)
            if process.wait() != 0:
                failures += 1
                out.write(f"!!! benchmarks.{name} exited with {process.returncode}\n")
                print(f"!!! benchmarks.{name} exited with {process.returncode}", flush=True)
    print(f"\nresults written to {out_path.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
