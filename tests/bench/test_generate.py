"""The scale generator (bench/generate.py) writes what the services would: every event is a contract
class instance that survives the real decoding, each store's streams are numbered 1, 2, 3 ... in
time order, causes precede what they cause, and reporting's own projection folds every case to a
sensible stage. Pure: no database, no broker."""

from __future__ import annotations

import base64
import importlib.util
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backbone import contracts as ev
from backbone.contracts import event_class
from backbone.envelope import Envelope
from backbone.sealing import Sealer
from reporting import projection

BENCH = Path(__file__).resolve().parents[2] / "bench" / "generate.py"
KEYS = {s: base64.b64encode(bytes([i + 1]) * 32).decode() for i, s in enumerate(("intake", "routing", "supervision"))}
END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def generate():
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cases(generate):
    g = generate.Generator(seed=11, keys=KEYS, end=END, years=5)
    return [g.case(t) for t in g.received_times(50)]


def test_every_event_is_its_contract_and_decodes(cases, generate):
    for envs in cases:
        for env in envs:
            kind = event_class(env.type)
            assert type(env.payload) is kind
            kind.model_validate(env.payload.model_dump())  # extra=forbid, every limit
            raw = env.encode()
            back = Envelope.decode(raw, env.payload.topic)
            assert back == env
            assert back.encode() == raw
            assert env.time <= END
            line = generate.copy_line(env).rstrip(b"\n").split(b"\t")
            assert len(line) == len(generate.COLUMNS) and line[0].decode() == env.subject


def test_streams_numbered_in_time_order_with_causes_first(cases):
    for envs in cases:
        seen: dict[str, datetime] = {}
        versions = Counter()
        for env in envs:
            versions[env.producer] += 1
            assert env.sequence == versions[env.producer]
            assert env.correlationid == envs[0].id and isinstance(envs[0].payload, ev.PetitionRegistered)
            if env.causationid is not None:
                assert env.causationid in seen and seen[env.causationid] <= env.time
            seen[env.id] = env.time
        assert [e.time for e in envs] == sorted(e.time for e in envs)


def test_sealed_fields_open_with_the_service_key(cases):
    intake = Sealer(KEYS["intake"])
    reg = cases[0][0].payload
    assert isinstance(intake.open(reg.case_id, reg.summary_sealed), str)
    with pytest.raises(Exception):
        Sealer(KEYS["routing"]).open(reg.case_id, reg.summary_sealed)


def test_reporting_folds_every_case_to_a_sensible_stage(cases):
    stages = Counter()
    for envs in cases:
        report = None
        for env in envs:
            report, _ = projection.apply(report, env)
        view = report.view
        assert view["case_no"] and view["subsidiary"] in ("S1", "S2", "S3")
        s = projection.stage(view)
        stages[s] += 1
        assert s in {*projection.STATUS_LABEL, *projection.STAGE_LABEL}
        if view.get("closed_on"):
            assert view.get("served_on") and view["routing_status"] == "accepted"
        if s == "final":
            assert view["review_level"] == "复核"
        assert len(report.new_timeline) == len(envs)
    # most of five years' cases are done; the latest are still open
    assert stages["closed"] + stages["final"] + stages["reviewed"] + stages["re_reviewed"] > 30
