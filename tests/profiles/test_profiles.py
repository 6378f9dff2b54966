"""Profile schema and loader: defaults, units, matrices, and errors that name file, field and value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from profiles.loader import SHIPPED_DIR
from profiles.loader import ProfileError, load_file, load_profile, load_profiles, profile_files
from profiles.schema import Profile, format_size, parse_size


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_profile_is_three_lines_and_gets_defaults(tmp_path):
    p = write(tmp_path, "pg-small.yaml", "database:\n  engine: postgresql\nhardware: {cpus: 1, memory: 1GiB}\n")
    prof = load_profile(p)
    assert prof.name == "pg-small"
    assert prof.database.managed is True and prof.database.url is None
    assert prof.hardware.memory == 1024**3
    assert prof.architecture.workers == 2 and prof.workload.operators is None and prof.workload.staffed
    assert prof.workload.staffing.customers_per_salesperson == 1000 and prof.workload.staffing.online_share == 0.5
    assert prof.slo.p95_ms == 500 and prof.sweep.growth == 4.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512MiB", 512 * 1024**2), ("2GiB", 2 * 1024**3), ("2GB", 2_000_000_000), ("300MB", 300_000_000),
     ("1G", 1024**3), ("1.5GiB", 3 * 1024**3 // 2), (268435456, 268435456), ("268435456", 268435456)],
)
def test_memory_units(text, expected):
    assert parse_size(text) == expected


def test_format_size_round_trips():
    assert format_size(512 * 1024**2) == "512MiB" and format_size(None) == "unlimited"


def test_open_model_rate_clears_default_operators():
    prof = Profile.model_validate({"workload": {"rate": 5.0}})
    assert prof.workload.operators is None and prof.workload.rate == 5.0


@pytest.mark.parametrize(
    ("text", "bits"),
    [("1Gbit", 10**9), ("100Mbit", 10**8), ("100mbit", 10**8), ("2.5Gbit", 25 * 10**8), ("512kbit", 512_000),
     (1_000_000, 10**6)],
)
def test_network_bandwidth_units(text, bits):
    prof = Profile.model_validate({"database": {"engine": "postgresql"},
                                   "architecture": {"network": {"rtt_ms": 0.5, "bandwidth": text}}})
    assert prof.architecture.network.bandwidth == bits and prof.architecture.network.rtt_ms == 0.5


def test_network_is_off_by_default():
    assert Profile.model_validate({"database": {"engine": "postgresql"}}).architecture.network is None


def test_external_url_is_kept_as_given():
    url = "postgresql+psycopg://bench@db.example:5433/jxc"
    prof = Profile.model_validate({"database": {"engine": "postgresql", "url": url}})
    assert prof.database.managed is False and prof.database.url == url


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("hardware: {memroy: 2GiB}\n", "hardware.memroy", "unknown field 'memroy'"),
        ("hardware: {memory: 2 gigs}\n", "hardware.memory", "'2 gigs'"),
        (f"hardware: {{cpus: {os.cpu_count() + 1}}}\n", "hardware.cpus", f"{os.cpu_count() + 1}"),
        ("hardware: {cpuset: '0-99'}\n", "hardware.cpuset", "'0-99'"),
        ("database: {engine: oracle}\n", "database.engine", "'oracle'"),
        ("database: {engine: postgresql, managed: false}\n", "database", "needs a url"),
        ("database: {engine: mysql, url: 'postgresql://x/y'}\n", "database", "'postgresql://x/y'"),
        ("workload: {mix: {sales: 0.5, clerk: 0.2}}\n", "workload.mix", "sum to 0.7"),
        ("workload: {operators: 5, rate: 2}\n", "workload", "not both"),
        ("sweep: {start_customers: 100, max_customers: 10}\n", "sweep", "max_customers 10"),
        ("sweep: {max_extension: -0.5}\n", "sweep.max_extension", "-0.5"),
        ("sweep: {max_extension: 20}\n", "sweep.max_extension", "20"),
        ("bogus: 1\n", "bogus", "unknown field 'bogus'"),
        ("database: {engine: postgresql}\narchitecture: {network: {bandwidth: 1Gbps}}\n",
         "architecture.network.bandwidth", "'1Gbps'"),
        ("database: {engine: postgresql}\narchitecture: {network: {bandwidth: 10bit}}\n",
         "architecture.network.bandwidth", "'10bit' is outside 64kbit..100Gbit"),
        ("database: {engine: postgresql}\narchitecture: {network: {rtt_ms: 0}}\n",
         "architecture.network.rtt_ms", "rtt_ms 0 must be > 0"),
        ("database: {engine: postgresql}\narchitecture: {network: {rtt_ms: 5000}}\n",
         "architecture.network.rtt_ms", "rtt_ms 5000 must be > 0 and <= 1000"),
        ("database: {engine: postgresql}\narchitecture: {network: {rtt: 1}}\n",
         "architecture.network.rtt", "unknown field 'rtt'"),
        ("architecture: {network: {rtt_ms: 0.5}}\n", "architecture", "network (rtt 0.5 ms, unlimited): the database "
         "is sqlite"),
        ("database: {engine: mysql, url: 'mysql://db.example/x'}\narchitecture: {network: {rtt_ms: 0.5}}\n",
         "architecture", "cannot move someone else's server"),
        ("hardware: {disk: 3 parsecs}\n", "hardware.disk", "'3 parsecs'"),
        ("hardware: {price: {amount: -5}}\n", "hardware.price.amount", "-5"),
        ("hardware: {price: {amount: 5, currency: yuan}}\n", "hardware.price.currency", "'yuan'"),
        ("hardware: {price: {amount: 5, per: week}}\n", "hardware.price.per", "'week'"),
        ("hardware: {price: {amount: 5, cost: 3}}\n", "hardware.price.cost", "unknown field 'cost'"),
    ],
)
def test_errors_name_file_field_and_value(tmp_path, text, field, value):
    p = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ProfileError) as info:
        load_profiles([p])
    msg = str(info.value)
    assert msg.startswith(f"{p}: {field}"), msg
    assert value in msg, msg
    assert info.value.exit_code == 2


def test_disk_and_price(tmp_path):
    p = write(tmp_path, "priced.yaml", "hardware: {disk: 40GiB, price: {amount: 2, currency: usd, per: hour}}\n")
    (prof,) = load_profiles([p])
    assert prof.hardware.disk == 40 * 1024**3 and not prof.hardware.constrained  # not a limit to apply
    assert prof.hardware.price.currency == "USD" and prof.hardware.price.per_month() == 2 * 730


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ProfileError, match=r"nope\.yaml: no such file"):
        load_profiles([tmp_path / "nope.yaml"])
    bad = write(tmp_path, "broken.yaml", "database: {engine: [\n")
    with pytest.raises(ProfileError, match=r"broken\.yaml: line \d+: not valid YAML"):
        load_profiles([bad])


def test_matrix_expands_cartesian_product_with_generated_names(tmp_path):
    p = write(tmp_path, "grid.yaml", """
base:
  database: {engine: postgresql}
  hardware: {memory: 1GiB}
matrix:
  hardware.cpus: [0.5, 1]
  architecture.workers: [1, 2, 4]
""")
    profs = load_file(p)
    assert len(profs) == 6
    assert [(x.hardware.cpus, x.architecture.workers) for x in profs][:3] == [(0.5, 1), (0.5, 2), (0.5, 4)]
    assert profs[0].name == "grid-cpus0.5-workers1" and len({x.name for x in profs}) == 6
    assert all(x.hardware.memory == 1024**3 for x in profs)


def test_matrix_name_template_and_bad_combination(tmp_path):
    p = write(tmp_path, "m.yaml", """
name: "pg-{hardware.memory}"
base: {database: {engine: postgresql}}
matrix:
  hardware.memory: [512MiB, 3 parsecs]
""")
    with pytest.raises(ProfileError) as info:
        load_file(p)
    assert "hardware.memory" in str(info.value) and "'3 parsecs'" in str(info.value)
    p.write_text(p.read_text().replace("3 parsecs", "2GiB"))
    assert [x.name for x in load_file(p)] == ["pg-512MiB", "pg-2GiB"]


def test_matrix_axis_of_labels_sets_a_section_or_null_and_names_by_label(tmp_path):
    p = write(tmp_path, "arch.yaml", """
name: "pg-{architecture.kind}-{architecture.network}"
base:
  database: {engine: postgresql}
  architecture: {workers: 3, network: {bandwidth: 1Gbit}}
matrix:
  architecture.kind: [monolith, microservices]
  architecture.network: {db-local: null, db-0.5ms: {rtt_ms: 0.5}}
""")
    profs = load_file(p)
    assert [x.name for x in profs] == ["pg-monolith-db-local", "pg-monolith-db-0.5ms",
                                       "pg-microservices-db-local", "pg-microservices-db-0.5ms"]
    nets = [x.architecture.network for x in profs]
    assert nets[0] is None and nets[2] is None  # null replaces base's section
    assert nets[1].rtt_ms == 0.5 and nets[1].bandwidth is None  # a section replaces it, not merged
    assert all(x.architecture.workers == 3 for x in profs)
    # without a template the label names the combination too
    p.write_text(p.read_text().replace('name: "pg-{architecture.kind}-{architecture.network}"\n', ""))
    assert load_file(p)[1].name == "arch-kindmonolith-networkdb-0.5ms"


@pytest.mark.parametrize("axis, message", [
    ("{'bad label': null}", "matrix.architecture.network: label 'bad label' may hold only"),
    ("{}", "matrix.architecture.network: must be a non-empty list of values or a mapping of labels"),
    ("0.5", "matrix.architecture.network: must be a non-empty list of values or a mapping of labels to values, got 0.5"),
    ("{far: {rtt_ms: -1}}", "architecture.network.rtt_ms: rtt_ms -1 must be > 0"),
])
def test_matrix_axis_errors_name_the_axis_and_value(tmp_path, axis, message):
    p = write(tmp_path, "arch.yaml", f"base: {{database: {{engine: postgresql}}}}\nmatrix:\n  architecture.network: {axis}\n")
    with pytest.raises(ProfileError) as info:
        load_file(p)
    assert str(info.value).startswith(f"{p}: ") and message in str(info.value), str(info.value)


def test_shipped_architecture_matrix_varies_only_the_architecture():
    profs = load_file(SHIPPED_DIR / "matrix-architecture.yaml")
    assert {(x.architecture.kind, x.architecture.network.rtt_ms if x.architecture.network else None) for x in profs} == {
        ("monolith", None), ("monolith", 0.5), ("microservices", None), ("microservices", 0.5)}
    for x in profs:  # the name says the architecture and where the database is
        assert x.architecture.kind in x.name and ("db-local" if x.architecture.network is None else "db-0.5ms") in x.name
    rest = [x.model_dump(exclude={"name", "architecture"}) for x in profs]
    assert all(r == rest[0] for r in rest)  # one allowance, one engine, one load, one SLO
    ref = load_profile(SHIPPED_DIR / "pg-managed-1cpu-2g.yaml")
    first = profs[0]
    assert (first.hardware, first.slo, first.workload, first.database) == (ref.hardware, ref.slo, ref.workload, ref.database)


def test_duplicate_names_across_files_are_refused(tmp_path):
    a = write(tmp_path, "a.yaml", "name: same\n")
    b = write(tmp_path, "b.yaml", "name: same\n")
    with pytest.raises(ProfileError, match="also defined in"):
        load_profiles([a, b])


def test_shipped_examples_all_load():
    files = profile_files(SHIPPED_DIR)
    names = {f.name for f in files}
    for expected in ("sqlite-quickstart.yaml", "pg-managed-1cpu-2g.yaml", "pg-managed-1cpu-512m.yaml",
                     "mariadb-managed-1cpu-2g.yaml", "mariadb-managed-1cpu-512m.yaml"):
        assert expected in names
    profs = load_profiles(files)
    assert any(p.architecture.workers > 2 for p in profs)
    assert len(profs) > len(files)  # the matrix expanded


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], capture_output=True, text=True, timeout=60)


def test_cli_validate_exit_codes(tmp_path):
    good = write(tmp_path, "good.yaml", "database: {engine: sqlite}\n")
    bad = write(tmp_path, "bad.yaml", "hardware: {memory: 2 gigs}\n")
    ok = _cli("profiles", "validate", str(good))
    assert ok.returncode == 0 and "ok" in ok.stdout
    res = _cli("profiles", "validate", str(good), str(bad), str(tmp_path / "missing.yaml"))
    assert res.returncode == 2
    assert f"{bad}: hardware.memory: invalid memory size '2 gigs'" in res.stderr
    assert "missing.yaml: no such file" in res.stderr
    assert "Traceback" not in res.stderr
    cpus = write(tmp_path, "cpus.yaml", f"hardware: {{cpus: {os.cpu_count() * 4}}}\n")
    res = _cli("profiles", "validate", str(cpus))
    assert res.returncode == 2 and "hardware.cpus" in res.stderr and "more than this machine has" in res.stderr
    eng = write(tmp_path, "eng.yaml", "database: {engine: db2}\n")
    res = _cli("profiles", "validate", str(eng))
    assert res.returncode == 2 and "database.engine" in res.stderr and "'db2'" in res.stderr


def test_cli_list_shows_shipped_profiles():
    res = _cli("profiles", "list")
    assert res.returncode == 0, res.stderr
    assert "pg-managed-1cpu-512m" in res.stdout and "mariadb-managed-1cpu-2g" in res.stdout


def test_sqlite_settings_must_be_pragmas_the_app_accepts():
    from pydantic import ValidationError

    from profiles.schema import Profile

    ok = Profile.model_validate({"database": {"engine": "sqlite", "settings": {"cache_size": -65536}}})
    assert ok.database.settings == {"cache_size": -65536}
    with pytest.raises(ValidationError, match="SQLite PRAGMA"):
        Profile.model_validate({"database": {"engine": "sqlite", "settings": {"cache_size": "1; DROP TABLE x"}}})


def test_workload_weights_name_known_operations_and_reach_the_load_plan():
    from pydantic import ValidationError

    from loadgen.workload.jxc import WORKLOAD
    from profiles.schema import Profile

    p = Profile.model_validate({"workload": {"weights": {"sales": {"customer_search": 9, "payment_create": 0}}}})
    w = WORKLOAD.personas["sales"].weights(p.workload.weights["sales"])
    assert w["customer_search"] == 9 and w["payment_create"] == 0 and w["customer_view"] > 0  # others kept
    for bad, message in [({"cashier": {"x": 1}}, "unknown persona 'cashier'"),
                         ({"sales": {"report_top_customers": 1}}, "unknown operation 'report_top_customers'"),
                         ({"clerk": {"stock_check": -1}}, "must not be negative")]:
        with pytest.raises(ValidationError, match=message):
            Profile.model_validate({"workload": {"weights": bad}})
