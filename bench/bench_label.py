"""`routeeval label` (issue 14): start-up on a 200-row sample and the redraw per key (targets: 0.5 s and 50 ms).

Start-up: a 200-row sample of November's demo logs (`routeeval sample`), half of it already labeled (resuming: the
status line shows the easy share's interval), then `routeeval label SAMPLE` in a child process reading one key from
stdin (`q`), timed from start to exit, several times; the median and the best are reported. Redraw: a session on
the same sample, each key handled and the full screen rendered by rich at 120 x 40 into memory.

    python bench/bench_label.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import record

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "evalsets" / "drift" / "support-logs-2026-11.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; nothing is recorded")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9

    from rich.console import Console

    from routeeval.labeling.labels import LabelsWriter, read_labels, read_sample
    from routeeval.labeling.sample import sample_logs
    from routeeval.labeling.session import LabelSession, render_screen

    with tempfile.TemporaryDirectory() as folder:
        path = sample_logs(LOGS, n=200, seed=0, out=Path(folder) / "sample.jsonl").path
        sample = read_sample(path)
        labels = Path(folder) / "labels.jsonl"
        with LabelsWriter(labels, sample.sha256, "ann") as writer:
            for number, row_id in enumerate(sample.ids[:100]):
                writer.decide(row_id, "hard" if number % 4 == 0 else "easy", 2.0)
        command = [sys.executable, "-m", "routeeval.cli", "label", str(path), "--out", str(labels), "--labeler", "ann"]
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(command, input="q\n", capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - started)

        with LabelsWriter(labels, sample.sha256, "ann") as writer:
            session = LabelSession(sample, read_labels(labels, sample.ids), writer)
            console = Console(file=io.StringIO(), width=120, height=40, force_terminal=True)
            console.print(render_screen(session))  # the first render imports what rich needs
            redraws = []
            for key in "ehsuexeh?e" * (1 if args.quick else 5):
                started = time.perf_counter()
                session.handle_key(key)
                console.print(render_screen(session))
                redraws.append(time.perf_counter() - started)

    rows = [
        (
            "start-up, 200 rows, 100 labeled, start to quit: median / best, s (target 0.5)",
            f"{statistics.median(walls):.2f} / {min(walls):.2f} ({repeats} runs)",
        ),
        (
            "redraw per key, 120 x 40 screen: mean / max, ms (target 50)",
            f"{1000 * statistics.mean(redraws):.1f} / {1000 * max(redraws):.1f} ({len(redraws)} keys)",
        ),
    ]
    record("routeeval label: start-up and redraw", "python bench/bench_label.py", rows, save=not args.quick)


if __name__ == "__main__":
    main()
