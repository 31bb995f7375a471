"""The parameter-count cache: validated on read, repaired, written atomically by concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import threading

from cnn_explorer.models.analysis.params import ParamCache

VERSIONS = {"torch": "1", "torchvision": "2"}


def test_bad_values_are_dropped_and_reported_for_repair(tmp_path):
    path = tmp_path / "counts.json"
    path.write_text('{"versions": {"torch": "1", "torchvision": "2"}, '
                    '"counts": {"a": 1e999, "b": "abc", "c": [1, 2], "d": -5, "e": true, "ok": 61706}}')
    counts, repair = ParamCache(path).read(VERSIONS)
    assert counts == {"ok": 61706} and repair
    for text in ("[1, 2, 3]", "not json", '{"counts": []}', ""):
        path.write_text(text)
        assert ParamCache(path).read(VERSIONS) == ({}, True)
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert ParamCache(path).read(VERSIONS) == ({}, True)
    assert ParamCache(tmp_path / "missing.json").read(VERSIONS) == ({}, False)


def test_counts_of_other_library_versions_are_not_used(tmp_path):
    cache = ParamCache(tmp_path / "counts.json")
    assert cache.write(VERSIONS, {"alexnet": 61_100_840})
    assert cache.read(VERSIONS) == ({"alexnet": 61_100_840}, False)
    assert cache.read({"torch": "9"}) == ({}, False)
    assert not list(tmp_path.glob("*.partial"))  # no temporary file left behind


def _writer(path: str, n: int) -> None:
    cache = ParamCache(path)
    for i in range(n):
        cache.write(VERSIONS, {f"model{j}": j * 1000 + i for j in range(200)})


def test_concurrent_writers_never_show_a_reader_torn_json(tmp_path):
    path = tmp_path / "counts.json"
    ParamCache(path).write(VERSIONS, {"start": 1})
    writers = [multiprocessing.get_context("spawn").Process(target=_writer, args=(str(path), 60)) for _ in range(2)]
    for w in writers:
        w.start()
    torn = 0
    stop = threading.Event()

    def read_loop():
        nonlocal torn
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except ValueError:
                torn += 1

    reader = threading.Thread(target=read_loop)
    reader.start()
    for w in writers:
        w.join(120)
    stop.set()
    reader.join()
    assert all(w.exitcode == 0 for w in writers)
    assert torn == 0
    counts, repair = ParamCache(path).read(VERSIONS)
    assert len(counts) in (1, 200) and not repair
