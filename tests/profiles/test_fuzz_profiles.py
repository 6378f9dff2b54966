"""The profile loader fuzzed (hypothesis): malformed YAML, wrong types, out-of-range values.

Whatever the file holds, loading it either gives a profile or raises :class:`ProfileError` whose
message starts with the file's path and names the field and the value that are wrong — never
another exception (a traceback at the CLI).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.loader import ProfileError, load_profile

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                database=None)

BASE = {
    "name": "fuzz",
    "hardware": {"cpus": 1, "memory": "1GiB"},
    "database": {"engine": "sqlite", "index_level": "tuned", "settings": {"cache_size": -2000}},
    "architecture": {"kind": "monolith", "workers": 2},
    "workload": {"mix": {"sales": 0.7, "clerk": 0.2, "manager": 0.1}, "think_time_s": [1.0, 3.0],
                 "operators": 20, "customer_quota": 1000, "weights": {"sales": {"customer_search": 4}}},
    "slo": {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {"customer_search": {"p95_ms": 300}}},
    "sweep": {"start_customers": 1000, "growth": 4.0, "max_customers": 100000, "precision": 0.1,
              "step_duration_s": 60, "warmup_s": 10, "repeats": 2, "operators": [10, 20]},
}


def _leaves(doc: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in doc.items():
        path = f"{prefix}{k}"
        out.append(path)
        if isinstance(v, dict):
            out += _leaves(v, f"{path}.")
    return out


FIELDS = _leaves(BASE)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**15, 10**15),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["0", "-1", "1e999", "2 gigs", "NaN", "64", "0-", "1,,2", "", " ", "∞"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=6)


def _load(tmp_path: Path, text: str) -> tuple[Path, object]:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        return path, load_profile(path)
    except ProfileError as exc:
        return path, exc


def test_the_base_profile_is_valid(tmp_path):
    _, got = _load(tmp_path, yaml.safe_dump(BASE, allow_unicode=True))
    assert not isinstance(got, ProfileError), got


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_is_a_profile_or_a_clean_error_naming_the_file(tmp_path, text):
    path, got = _load(tmp_path, text)
    if isinstance(got, ProfileError):
        assert str(got).startswith(f"{path}: "), got


@FUZZ
@given(field=st.sampled_from(FIELDS), value=values)
def test_a_wrong_value_anywhere_names_file_field_and_value(tmp_path, field, value):
    doc = copy.deepcopy(BASE)
    parts = field.split(".")
    node = doc
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value
    path, got = _load(tmp_path, yaml.safe_dump(doc, allow_unicode=True))
    if not isinstance(got, ProfileError):
        return  # a value the schema accepts (e.g. another valid number)
    msg = str(got)
    assert msg.startswith(f"{path}: "), msg
    # The field: its dotted path, or (for a rule across fields, or a wrong section) its section.
    assert field in msg or parts[0] in msg, (field, msg)
    if isinstance(value, (str, int)) and not isinstance(value, bool) and field in msg and value != "":
        assert repr(value) in msg or str(value) in msg, (field, value, msg)
    if isinstance(value, float) and math.isfinite(value) and field in msg:
        assert repr(value) in msg or str(value) in msg or f"{value:g}" in msg, (field, value, msg)


@FUZZ
@given(key=st.text(min_size=1, max_size=10).filter(lambda k: k not in BASE), value=values)
def test_an_unknown_section_is_named(tmp_path, key, value):
    text = yaml.safe_dump({**BASE, key: value}, allow_unicode=True)
    key = next(k for k in yaml.safe_load(text) if k not in BASE)  # as YAML reads it back ('\x85' -> ' ')
    path, got = _load(tmp_path, text)
    assert isinstance(got, ProfileError), key
    assert str(got).startswith(f"{path}: ") and "unknown field" in str(got) and repr(key) in str(got), got
