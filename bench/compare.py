"""Before and after: one bench scenario on a base commit and on HEAD, interleaved.

    python bench/compare.py --base 575fcd6 --scenario evaluation_http --rounds 3

The machine is noisy and drifts within minutes, so the two sides take turns
(base, head, base, head, ...) and the table quotes each figure's median over the
rounds and the ratio of the medians. Each side runs from a git worktree of its
commit with this tree's virtual environment, so editing the tree meanwhile changes
nothing; the results go to ``bench/results/compare-<scenario>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"

# (label, path into the scenario's figures, higher is better)
FIGURES: dict[str, list[tuple[str, tuple[str, ...], bool]]] = {
    "evaluation_http": [
        ("EvaluateFeature max req/s (wrk)", ("single_max", "requests_per_s"), True),
        ("EvaluateFeature p50 ms at max", ("single_max", "p50_ms"), False),
        ("EvaluateFeature p99 ms at 2000 req/s", ("single_2000", "p99_ms"), False),
        ("EvaluateFeature p50 ms at 2000 req/s", ("single_2000", "p50_ms"), False),
        ("EvaluateFeature p99 ms at 500 req/s", ("single_500", "p99_ms"), False),
        ("BatchEvaluateFeature evaluations/s (wrk)", ("batch", "evaluations_per_s"), True),
        ("null-app floor p99 ms at 2000 req/s", ("floor_2000", "p99_ms"), False),
    ],
}


def run_side(root: Path, scenario: str) -> dict[str, Any]:
    subprocess.run(
        [sys.executable, str(root / "bench" / "run.py"), "--only", scenario],
        cwd=root,
        check=True,
    )
    report: dict[str, Any] = json.loads((root / "bench" / "results" / "latest.json").read_text())
    figures: dict[str, Any] = report[scenario]
    return figures


def dig(figures: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = figures
    for key in path:
        value = value[key]
    return float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--scenario", default="evaluation_http", choices=sorted(FIGURES))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base_sha = subprocess.run(
        ["git", "rev-parse", args.base], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree_sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "tree": []}
    with tempfile.TemporaryDirectory(prefix="verdict-compare-") as tmp:
        sides = {"base": Path(tmp) / "base", "tree": Path(tmp) / "head"}
        jars = REPO / ".verdict" / "kafka-jars"
        for side, sha in (("base", base_sha), ("tree", tree_sha)):
            worktree = sides[side]
            subprocess.run(
                ["git", "worktree", "add", "-q", "--detach", str(worktree), sha],
                cwd=REPO,
                check=True,
            )
            if jars.exists():
                (worktree / ".verdict").mkdir(exist_ok=True)
                (worktree / ".verdict" / "kafka-jars").symlink_to(jars)
        try:
            for _ in range(args.rounds):
                for side in ("base", "tree"):
                    runs[side].append(run_side(sides[side], args.scenario))
        finally:
            for worktree in sides.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO)
                shutil.rmtree(worktree, ignore_errors=True)
    rows: list[dict[str, Any]] = []
    for label, path, higher in FIGURES[args.scenario]:
        base = statistics.median(dig(r, path) for r in runs["base"])
        tree = statistics.median(dig(r, path) for r in runs["tree"])
        rows.append(
            {
                "figure": label,
                "base": base,
                "tree": tree,
                "ratio": tree / base if base else float("nan"),
                "higher_is_better": higher,
                "base_runs": [dig(r, path) for r in runs["base"]],
                "tree_runs": [dig(r, path) for r in runs["tree"]],
            }
        )
    report = {"base": base_sha, "tree": tree_sha, "rounds": args.rounds, "rows": rows}
    out = RESULTS / f"compare-{args.scenario}"
    out.with_suffix(".json").write_text(json.dumps({**report, "runs": runs}, indent=2))
    lines = [
        f"Medians of {args.rounds} interleaved runs; base {base_sha[:8]}, tree {tree_sha[:8]}.",
        "",
        "| figure | before | after | after / before | runs before | runs after |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        runs_text = [", ".join(f"{v:.3g}" for v in row[k]) for k in ("base_runs", "tree_runs")]
        lines.append(
            f"| {row['figure']} | {row['base']:.3g} | {row['tree']:.3g} | {row['ratio']:.2f}"
            f" | {runs_text[0]} | {runs_text[1]} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
