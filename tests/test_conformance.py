"""The conformance corpus (conformance/): hypha_arrow decodes every committed frame to its
expectation and refuses every malformed one with DecodeError, and the generator still makes
exactly this corpus, so a decoder in another language tested against it tests against us."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import hypha_arrow
from hypha_arrow.testing import assert_same

CORPUS = Path(__file__).resolve().parent.parent / "conformance"
MAX_CORPUS_BYTES = 1 << 20


def _load_generator() -> ModuleType:
    """conformance/generate.py is a script, not a package module: load it by path."""
    spec = importlib.util.spec_from_file_location("conformance_generate", CORPUS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


generate = _load_generator()
CASES: list[dict[str, Any]] = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
VALID = [case for case in CASES if "expect" in case]
MALFORMED = [case for case in CASES if "error" in case]
TABLES = [case for case in VALID if isinstance(case["expect"], dict) and "$table" in case["expect"] and not case["config"]]


def _name(case: dict[str, Any]) -> str:
    return case["name"]


def _decoded(case: dict[str, Any]) -> Any:
    data = (CORPUS / case["file"]).read_bytes()
    config = hypha_arrow.Config(**case["config"]) if case["config"] else None
    if case["kind"] == "message":
        return hypha_arrow.decode_message(data, config=config)
    return hypha_arrow.decode(data, config=config)


@pytest.mark.parametrize("case", VALID, ids=_name)
def test_valid_frame_decodes_to_its_expectation(case: dict[str, Any]) -> None:
    decoded = _decoded(case)
    if case["kind"] == "message":
        header, extra = decoded
        assert_same(case["expect"], {"header": generate.to_neutral(header), "extra": generate.to_neutral(extra)})
    else:
        assert_same(case["expect"], generate.to_neutral(decoded))


@pytest.mark.parametrize("case", MALFORMED, ids=_name)
def test_malformed_frame_is_refused_with_decode_error(case: dict[str, Any]) -> None:
    """DecodeError and nothing else: any other exception escapes ``pytest.raises`` and fails the test."""
    with pytest.raises(hypha_arrow.DecodeError):
        _decoded(case)


@pytest.mark.parametrize("case", TABLES, ids=_name)
def test_table_expectation_is_the_section_as_plain_arrow_reads_it(case: dict[str, Any]) -> None:
    """A decoder without pandas exposes the section's struct as a table: the expectation must be what it sees."""
    expected = {key: value for key, value in case["expect"]["$table"].items() if key != "pandas"}
    assert_same([expected], generate.section_tables((CORPUS / case["file"]).read_bytes()))


def test_corpus_lists_every_frame_once_and_stays_small() -> None:
    files = [case["file"] for case in CASES]
    assert len(set(files)) == len(files) == len({case["name"] for case in CASES})
    assert sorted(files) == sorted(f"frames/{path.name}" for path in (CORPUS / "frames").glob("*.bin"))
    assert all(("expect" in case) != ("error" in case) and case["kind"] in ("standalone", "message") for case in CASES)
    size = sum((CORPUS / file).stat().st_size for file in files) + (CORPUS / "cases.json").stat().st_size
    assert size < MAX_CORPUS_BYTES


def test_generator_reproduces_the_expectations() -> None:
    entries, _ = generate.build()
    assert_same(CASES, json.loads(generate.dumps(entries)))


def test_generator_reproduces_the_frames_byte_for_byte() -> None:
    """With the library versions recorded in conformance/versions.json (pyarrow above all), the
    frames come out byte-identical: encoding is deterministic and never ships uninitialised
    bytes. Other versions may legitimately write other bytes (pandas metadata names the
    versions; compressors change), so the test is skipped there and only the expectations,
    checked above, must agree."""
    recorded = json.loads((CORPUS / "versions.json").read_text(encoding="utf-8"))
    installed = generate.versions()
    libraries = ("pyarrow", "pandas", "numpy", "msgpack")
    if any(recorded[name] != installed[name] for name in libraries):
        pytest.skip(f"corpus written with {recorded}, installed {installed}")
    _, frames = generate.build()
    differing = [file for file, data in frames.items() if (CORPUS / file).read_bytes() != data]
    assert differing == []
