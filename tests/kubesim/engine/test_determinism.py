"""Same scenario + seed -> the same ground truth."""

from __future__ import annotations

import re
from typing import Any

import orjson

from tests.kubesim.engine.support import play


def _sequence(records: Any) -> list[tuple[Any, ...]]:
    # CronJob children are named after the scheduled minute (absolute time), as in a cluster.
    return [
        (
            r["offset"],
            r["what"],
            r["namespace"],
            re.sub(r"-\d{8}-", "-<minute>-", r["pod"]),
            r["container"],
            r.get("exit_code"),
        )
        for r in records
    ]


def test_the_same_seed_gives_the_same_truth(tmp_path):
    first = play("demo", 400, seed=7, truth_path=tmp_path / "a.jsonl")
    second = play("demo", 400, seed=7, truth_path=tmp_path / "b.jsonl")
    a = _sequence(first.truth())
    b = _sequence(second.truth())
    assert len(a) > 50
    assert a == b
    kinds = {r[1] for r in a}
    assert {"sigkill", "oom", "crash", "prestop_start", "endpoint_removed"} <= kinds


def test_a_different_seed_gives_different_names():
    first = play("rollout", 10, seed=1)
    second = play("rollout", 10, seed=2)
    names = {p["metadata"]["name"] for p in first.pods("rollout")}
    assert names != {p["metadata"]["name"] for p in second.pods("rollout")}


def test_the_truth_file_has_one_json_object_per_line_with_microseconds(tmp_path):
    path = tmp_path / "truth.jsonl"
    run = play("sigkill", 35, truth_path=path)
    lines = path.read_bytes().splitlines()
    assert len(lines) == len(run.truth())
    record = orjson.loads(lines[0])
    assert set(record) >= {"at", "offset", "what", "uid", "namespace", "pod", "container"}
    assert len(record["at"].split(".")[1]) == len("000000Z")
