"""`make bench`: Verdict's performance figures, each beside a baseline measured in the same run.

Launches the real stack as `make run` does (embedded Postgres and Kafka, the four
services), drives it from separate processes (wrk, bench/loadgen.py) on loopback
only, and writes JSON to bench/results/ plus a Markdown table the README quotes.
The machine is noisy: figures are medians of repeated runs where a scenario is
cheap enough to repeat, and every target is a ratio against a baseline from
this same run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import RESULTS, log, machine, setup_experiment, start_stack  # noqa: E402
from bench.report import save, table  # noqa: E402
from bench.scenarios.evaluation_http import evaluation_http, server_comparison  # noqa: E402
from bench.scenarios.in_process import (  # noqa: E402
    evaluation_in_process,
    json_codecs,
    signature_check,
)
from bench.scenarios.ingestion import ingestion  # noqa: E402
from bench.scenarios.memory import memory  # noqa: E402
from bench.scenarios.metric_types import metric_type_cost  # noqa: E402
from bench.scenarios.propagation import propagation  # noqa: E402
from bench.scenarios.results import results_latency  # noqa: E402


def run_scenario(report: dict[str, Any], name: str, run: Any, *args: Any) -> None:
    """Run one scenario; a failure is recorded and the others still run."""
    started = time.perf_counter()
    try:
        report[name] = run(*args)
    except Exception as exc:  # a broken scenario must not cost the others their figures
        report[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"{name} failed: {exc}")
    log(f"{name} took {time.perf_counter() - started:.0f}s")
    save(report)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    if "--table" in sys.argv:
        # Re-render latest.md from latest.json, e.g. after the table's layout changed.
        markdown = table(json.loads((RESULTS / "latest.json").read_text()))
        (RESULTS / "latest.md").write_text(markdown + "\n")
        print(markdown)
        return
    # `--only a,b` re-runs some scenarios and merges them into the last report.
    only = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None
    report: dict[str, Any] = {"machine": machine()}
    if only and (RESULTS / "latest.json").exists():
        report = {**json.loads((RESULTS / "latest.json").read_text()), "machine": machine()}

    def scenario(report: dict[str, Any], name: str, run: Any, *args: Any) -> None:
        if only is None or name in only:
            run_scenario(report, name, run, *args)

    log("evaluation in process vs GrowthBook")
    scenario(report, "evaluation_in_process", evaluation_in_process)
    scenario(report, "json_codecs", json_codecs)
    scenario(report, "signature", signature_check)
    scenario(report, "metric_types", metric_type_cost)
    with tempfile.TemporaryDirectory(prefix="verdict-bench-") as tmp:
        log("starting the stack")
        stack = start_stack(Path(tmp))
        try:
            project = "bench"
            setup_experiment(stack, project)
            scenario(report, "evaluation_http", evaluation_http, stack, project)
            scenario(report, "servers", server_comparison, stack, project)
            scenario(report, "propagation", propagation, stack, project)
            scenario(report, "ingestion", ingestion, stack, project)
            scenario(report, "results", results_latency, stack, project)
            scenario(report, "memory", memory, stack, project)
        finally:
            stack.stop()
            stack.infrastructure.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(report, indent=2))
    save(report)
    failed = [k for k, v in report.items() if isinstance(v, dict) and "error" in v]
    if failed:
        print(json.dumps({k: report[k] for k in failed}, indent=2))
        raise SystemExit(f"scenarios failed: {failed}")
    markdown = table(report)
    (RESULTS / "latest.md").write_text(markdown + "\n")
    print(markdown)


if __name__ == "__main__":
    main()
