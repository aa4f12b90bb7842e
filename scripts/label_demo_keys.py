"""Keys for the scripted labeling demo (make label-demo): one per line, as `routeeval label` reads them from stdin.

The demo months' log rows carry the generator's own easy/hard ``label``; this labeler agrees with it, except that a
second labeler (``--flip N``) disagrees on every N-th row, and every 40th row is skipped (``s``): a stand-in for a
person at the keyboard, so the flow can run unattended. Usage:

    python scripts/label_demo_keys.py SAMPLE LOGS [--flip N] | routeeval label SAMPLE --labeler NAME
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sample")
    parser.add_argument("logs")
    parser.add_argument("--flip", type=int, default=0, help="disagree with the generator on every N-th row")
    args = parser.parse_args()
    truth = {}
    with open(args.logs, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                truth[str(row["id"])] = row.get("label")
    keys = []
    with open(args.sample, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()][1:]  # the first line is the sample's header
    for number, row in enumerate(rows, start=1):
        label = truth.get(str(row.get("log_id", row["id"])))
        if number % 40 == 0 or label not in ("easy", "hard"):
            keys.append("s")
            continue
        if args.flip and number % args.flip == 0:
            label = "hard" if label == "easy" else "easy"
        keys.append("e" if label == "easy" else "h")
    keys.append("q")
    print("\n".join(keys))


if __name__ == "__main__":
    main()
