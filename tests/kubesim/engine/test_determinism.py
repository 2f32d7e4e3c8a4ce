"""Same scenario + seed + speed -> the same ground truth."""

from __future__ import annotations

import asyncio
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
    first = asyncio.run(play("demo", 400, speed=400, seed=7, truth_path=tmp_path / "a.jsonl"))
    second = asyncio.run(play("demo", 400, speed=400, seed=7, truth_path=tmp_path / "b.jsonl"))
    a = _sequence(first.truth())
    b = _sequence(second.truth())
    # The runs end at a real-time deadline: compare what both reached.
    horizon = min(a[-1][0], b[-1][0]) - 5
    a = [r for r in a if r[0] < horizon]
    b = [r for r in b if r[0] < horizon]
    assert len(a) > 50
    assert a == b
    kinds = {r[1] for r in a}
    assert {"sigkill", "oom", "crash", "prestop_start", "endpoint_removed"} <= kinds


def test_a_different_seed_gives_different_names():
    first = asyncio.run(play("rollout", 10, speed=200, seed=1))
    second = asyncio.run(play("rollout", 10, speed=200, seed=2))
    names = {p["metadata"]["name"] for p in first.pods("rollout")}
    assert names != {p["metadata"]["name"] for p in second.pods("rollout")}


def test_the_truth_file_has_one_json_object_per_line_with_microseconds(tmp_path):
    path = tmp_path / "truth.jsonl"
    run = asyncio.run(play("sigkill", 35, speed=200, truth_path=path))
    lines = path.read_bytes().splitlines()
    assert len(lines) == len(run.truth())
    record = orjson.loads(lines[0])
    assert set(record) >= {"at", "offset", "what", "uid", "namespace", "pod", "container"}
    assert len(record["at"].split(".")[1]) == len("000000Z")
