"""The Markdown table the README quotes, and the JSON it is made from."""

from __future__ import annotations

import json
from typing import Any

from bench.common import (
    RESULTS,
)

# -- report ------------------------------------------------------------------------------------


def verdict(met: bool, target: str) -> str:
    return f"{target}: {'met' if met else '**missed**'}"


Row = tuple[str, str, str, str, str]


def _evaluation_rows(r: dict[str, Any]) -> list[Row]:
    e, h = r["evaluation_in_process"], r["evaluation_http"]
    gb = e["growthbook_evals_per_s"]
    batch_ratio = h["batch"]["evaluations_per_s"] / gb
    sent = h.get("assignment_events", {})
    inside = h["single_2000"].get("server_side")
    return [
        (
            "Evaluation in process, 50/50 experiment, 10^5 users (evals/s, median of 5)",
            f"{e['verdict_evals_per_s']:,.0f}",
            f"GrowthBook SDK {gb:,.0f}",
            f"{e['ratio']:.2f}×",
            "",
        ),
        (
            "BatchEvaluateFeature over HTTP, 20 per request, wrk (evals/s)",
            f"{h['batch']['evaluations_per_s']:,.0f}",
            f"GrowthBook SDK in process {gb:,.0f}",
            f"{batch_ratio:.2f}×",
            verdict(batch_ratio >= 1, "≥ 1×"),
        ),
        (
            "EvaluateFeature at 500 req/s offered: p50 / p99 (ms)",
            f"{h['single_500']['p50_ms']:.2f} / {h['single_500']['p99_ms']:.2f}",
            "null ASGI app {:.2f} / {:.2f}".format(
                h["floor_500"]["p50_ms"], h["floor_500"]["p99_ms"]
            ),
            "",
            "",
        ),
        (
            "EvaluateFeature at 2000 req/s offered: p50 / p99 (ms)",
            f"{h['single_2000']['p50_ms']:.2f} / {h['single_2000']['p99_ms']:.2f}",
            "null ASGI app {:.2f} / {:.2f}".format(
                h["floor_2000"]["p50_ms"], h["floor_2000"]["p99_ms"]
            ),
            f"achieved {h['single_2000']['achieved_rps']:,.0f} req/s",
            verdict(h["single_2000"]["p99_ms"] <= 2.0, "p99 ≤ 2 ms"),
        ),
        (
            "EvaluateFeature at 2000 req/s, inside the service (its histogram): p50 / p99 (ms)",
            f"≤ {inside['p50_at_most_ms']:g} / ≤ {inside['p99_at_most_ms']:g}"
            if inside
            else "not measured",
            "",
            "",
            "",
        ),
        (
            "EvaluateFeature max, wrk 32 connections (req/s; p50 / p99 ms)",
            "{:,.0f}; {:.2f} / {:.2f}".format(
                h["single_max"]["requests_per_s"],
                h["single_max"]["p50_ms"],
                h["single_max"]["p99_ms"],
            ),
            "",
            "",
            "",
        ),
        (
            "Assignment events sent / shed during the HTTP runs",
            "{:,.0f} / {:,.0f}".format(sent["sent"], sent.get("dropped", 0))
            if sent
            else "not measured",
            "",
            "",
            "",
        ),
    ]


def _servers_rows(r: dict[str, Any]) -> list[Row]:
    s = r["servers"]
    return [
        (
            "Server for evaluation: uvicorn+httptools vs granian (EvaluateFeature req/s)",
            f"{s['uvicorn_httptools']['requests_per_s']:,.0f}",
            f"granian {s['granian']['requests_per_s']:,.0f}",
            f"{s['uvicorn_httptools']['requests_per_s'] / s['granian']['requests_per_s']:.2f}×",
            "",
        ),
    ]


def _codecs_rows(r: dict[str, Any]) -> list[Row]:
    c = r["json_codecs"]
    return [
        (
            "JSON: orjson vs msgspec, encode a response (/s)",
            f"{c['orjson_encode_per_s']:,.0f}",
            f"msgspec {c['msgspec_encode_per_s']:,.0f}",
            f"{c['orjson_encode_per_s'] / c['msgspec_encode_per_s']:.2f}×",
            "",
        ),
        (
            "JSON: orjson vs msgspec, decode a request (/s)",
            f"{c['orjson_decode_per_s']:,.0f}",
            f"msgspec {c['msgspec_decode_per_s']:,.0f}",
            f"{c['orjson_decode_per_s'] / c['msgspec_decode_per_s']:.2f}×",
            "",
        ),
    ]


def _propagation_rows(r: dict[str, Any]) -> list[Row]:
    p = r["propagation"]
    return [
        (
            "Propagation, UpdateFeature → EvaluateFeature, 200 changes: p50 / p99 (ms)",
            f"{p['p50_ms']:.1f} / {p['p99_ms']:.1f}",
            "",
            "",
            verdict(p["p99_ms"] <= 1000, "p99 ≤ 1 s"),
        ),
    ]


def _ingestion_rows(r: dict[str, Any]) -> list[Row]:
    i = r["ingestion"]
    return [
        (
            "Ingestion, PutProjectEvents → aggregates, 1 worker (events/s)",
            f"{i['put_project_events']['end_to_end_events_per_s']:,.0f}",
            f"raw aiokafka consumer {i['raw_consumer_events_per_s']:,.0f}",
            f"{i['ratio_put_vs_raw']:.1%}",
            verdict(i["ratio_put_vs_raw"] >= 0.2, "≥ 20%"),
        ),
        (
            "Ingestion, direct Kafka producer → aggregates, 1 worker (events/s)",
            f"{i['direct_producer']['end_to_end_events_per_s']:,.0f}",
            f"raw aiokafka consumer {i['raw_consumer_events_per_s']:,.0f}",
            f"{i['ratio_direct_vs_raw']:.1%}",
            verdict(i["ratio_direct_vs_raw"] >= 0.2, "≥ 20%"),
        ),
        (
            "Ingestion, direct Kafka producer, against faust's own floor (events/s)",
            f"{i['direct_producer']['end_to_end_events_per_s']:,.0f}",
            f"a faust worker that only counts {i['faust_floor_events_per_s']:,.0f}",
            f"{i['ratio_direct_vs_faust_floor']:.2f}×",
            "",
        ),
    ]


def _results_rows(r: dict[str, Any]) -> list[Row]:
    res = r["results"]
    rows: list[Row] = []
    pairs = (
        ("1e7", "1e4", "ratio_1e7_vs_1e4", "10^7 events", "10^4 events", "synthetic minute cells"),
        (
            "ingested_1e6",
            "ingested_1e4",
            "ratio_ingested_1e6_vs_1e4",
            "10^6 events",
            "10^4 events",
            "events ingested through Kafka and the processor",
        ),
    )
    for big, small, ratio_key, big_label, small_label, what in pairs:
        for shape, looks in (("one_look", "one look"), ("daily_looks", "daily looks")):
            ratio = res[ratio_key][shape]
            rows.append(
                (
                    f"GetExperimentResults, 5 treatments × 3 metrics, {what} over 30 days,"
                    f" {looks} ({res[big][shape]['looks']}; median ms)",
                    f"{big_label} {res[big][shape]['median_ms']:.1f}",
                    f"{small_label} {res[small][shape]['median_ms']:.1f}",
                    f"{ratio:.2f}×",
                    verdict(ratio <= 1.2, "≤ 1.2×"),
                )
            )
    ingested = res["ingested_1e6"]
    rows.append(
        (
            "10^6 events through the pipeline until the results service holds them (s)",
            f"{ingested['held_seconds']:.0f}",
            f"processor applied them in {ingested['applied_seconds']:.0f}",
            f"{ingested['events'] / ingested['held_seconds']:,.0f} events/s",
            "",
        )
    )
    return rows


def _memory_rows(r: dict[str, Any]) -> list[Row]:
    m = r["memory"]
    return [
        (
            "Evaluation service RSS, 10^3 features + 10^6 sticky entities (MiB)",
            f"{m['evaluation']['rss_mib']:.0f}",
            f"before {m['evaluation']['rss_before_mib']:.0f}",
            f"{m['evaluation']['bytes_per_sticky_entity']:.0f} B/entity",
            "",
        ),
        (
            "Processor RSS per 10^6 entities (MiB)",
            f"{m['processor']['mib_per_million_entities']:.0f}",
            f"measured on {m['processor']['entities']:,} entities",
            "",
            "",
        ),
    ]


def _signature_rows(r: dict[str, Any]) -> list[Row]:
    s = r["signature"]
    return [
        (
            "SigV4 check of a BatchEvaluateFeature (20 items), botocore's signer (/s, µs)",
            f"{s['verify_per_s']:,.0f}; {1e6 / s['verify_per_s']:.0f} µs",
            f"key derivation + HMAC alone {s['floor_per_s']:,.0f}",
            f"{s['verify_per_s'] / s['floor_per_s']:.2f}×",
            "",
        ),
    ]


def _metric_type_rows(r: dict[str, Any]) -> list[Row]:
    m = r.get("metric_types")
    if not m:
        return []
    rates = m["events_per_s"]
    base = rates["SUM"]
    return [
        (
            f"Processor per event, {name}: observe + fold + cells, in process (events/s, median"
            f" of {m['runs']})",
            f"{rate:,.0f}; {1e6 / rate:.0f} µs",
            f"SUM {base:,.0f}" if name != "SUM" else "",
            f"{rate / base:.2f}×" if name != "SUM" else "",
            "",
        )
        for name, rate in rates.items()
    ]


# In the order the README's table lists them.
SCENARIO_ROWS = (
    _evaluation_rows,
    _servers_rows,
    _codecs_rows,
    _signature_rows,
    _propagation_rows,
    _ingestion_rows,
    _results_rows,
    _metric_type_rows,
    _memory_rows,
)


def table(r: dict[str, Any]) -> str:
    """The Markdown table the README quotes verbatim (tests/unit/test_readme.py checks)."""
    rows = [row for scenario in SCENARIO_ROWS for row in scenario(r)]
    lines = [
        "| scenario | Verdict | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c_} | {d} | {t} |" for a, b, c_, d, t in rows]
    mach = r["machine"]
    lines.append("")
    lines.append(
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB, "
        f"Python {mach['python']}, Kafka {mach['kafka']}; {mach['date']}."
    )
    return "\n".join(lines)


def save(report: dict[str, Any]) -> None:
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
