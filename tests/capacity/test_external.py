"""External systems (issue 17): a vendor's own product, sized through its commands and a plain locustfile.

The end-to-end test sweeps ``examples/tinyjxc`` (a stdlib ``http.server`` + ``sqlite3`` app that
imports nothing of jxcbench) with its shipped profile, through the CLI in a child process, and reads
what any sweep writes. The bad-input tests run the CLI in this process: each breaks one field of an
otherwise working profile and expects exit 2, a message naming the file, the field and the value,
and no process left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
import yaml

from tests.cli.test_bad_input import jxcbench  # in-process CLI: exit code and output

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "tinyjxc"


def port_open(url: str) -> bool:
    u = urlparse(url)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((u.hostname, u.port)) == 0


def marked(marker: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in (p.info["cmdline"] or [])):
            out.append(p)
    return out


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example (so a test may break its files) and its profile, as a dict to edit."""
    d = tmp_path / "tinyjxc"
    shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns("__pycache__", "*.db*"))
    return d


def write_profile(d: Path, **system: object) -> Path:
    doc = yaml.safe_load((d / "tinyjxc.yaml").read_text())
    doc["system"].update(system)
    path = d / "broken.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_the_example_system_is_swept_end_to_end(tmp_path: Path):
    out = tmp_path / "sweep"
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "loadgen.cli", "sweep", str(EXAMPLE / "tinyjxc.yaml"), "--out", str(out)],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=300)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "capacity.json").read_text())
    entry = doc["profiles"][0]
    # A bounded capacity: a largest passing level, and a failing one above it.
    steps = entry["steps"]
    story = "\n".join(f"{s['customers']}: {s['verdict']} {s.get('invalid_reason') or s.get('fail_reason') or ''}"
                      for s in steps)
    assert isinstance(entry["max_customers"], int), story
    assert isinstance(entry["first_failing_customers"], int) and entry["first_failing_customers"] > entry["max_customers"], story
    # The locustfile's request names are the operations judged, its User classes the personas.
    names = {"customer_search", "order_create", "customer_open"}
    assert any(set(s["operations"]) == names for s in steps if s["valid"])
    step_dirs = [out / s["dir"] for s in steps]
    for d in step_dirs:
        # a level measured again is restored from its snapshot, not seeded: its log says which
        how = json.loads((d / "step.json").read_text())["book"]["how"]
        assert (d / "samples.parquet").is_file() and (d / ("restore.log" if how == "restored" else "seed.log")).is_file()
        assert all((d / name).is_file() for key, name in json.loads((d / "step.json").read_text())["files"].items()
                   if key.endswith("_log"))
    # Each new level was saved before its load; one above a saved level grew from it, not from the
    # last step's leftovers (so every step measured a clean book).
    books = [json.loads((d / "step.json").read_text())["book"] for d in step_dirs]
    assert books[0]["how"] == "seeded" and all(b.get("snapshot") for b in books)
    assert any(b["how"] == "grown" and b["base"] < s["customers"] for b, s in zip(books, steps, strict=True)), books
    # The example's own audit ran after every step and found its books straight.
    assert all(s["audit"] and s["audit"]["ok"] for s in (json.loads((d / "step.json").read_text()) for d in step_dirs))
    assert "books straight" in (step_dirs[0] / "audit.log").read_text()
    first = json.loads((step_dirs[0] / "step.json").read_text())
    # system.database_url: the size of the book at every level, and during every step
    assert all(b["db_bytes"] > 0 for b in books), books
    assert all(json.loads((d / "step.json").read_text())["resources"]["db_bytes"] > 0 for d in step_dirs)
    assert set(first["personas"]) == {"Salesperson", "BackOffice"}
    assert first["staffing"]["mode"] == "staffed" and first["operators"] == sum(first["staffing"]["online"].values())
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    # The app jxcbench started is gone with the sweep, and the example folder holds no database.
    assert not port_open(first["system"]["base_url"])
    assert not list(EXAMPLE.glob("*.db")) and not (EXAMPLE / "__pycache__").exists()
    print(f"example sweep: {len(steps)} steps in {wall:.1f} s, held {entry['max_customers']}, "
          f"failed at {entry['first_failing_customers']}")
    # Resuming, from another folder with a relative path to the same profile: every step is reused.
    again = subprocess.run([sys.executable, "-m", "loadgen.cli", "sweep", "examples/tinyjxc/tinyjxc.yaml", "--out", str(out)],
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert f"0 step(s) measured, {len(steps)} reused" in " ".join((again.stdout + again.stderr).split())


@pytest.mark.parametrize("field,value,says", [
    ("seed", "python3 seed.py --db x.db --customers {cust}", "placeholder {cust}"),
    ("seed", "python3 seed.py --db x.db", "must take the customer count as {customers}"),
    ("base_url", "http://127.0.0.1:{prot}", "placeholder {prot}"),
    ("snapshot", "python3 snapshot.py save", "must take the snapshot's name as {name}"),
    ("restore", None, "without system.restore"),  # a snapshot nothing can put back
    ("audit", "python3 audit.py --db {db}", "placeholder {db}"),
])
def test_a_bad_placeholder_is_refused_before_anything_runs(example: Path, tmp_path: Path, field, value, says):
    profile = write_profile(example, **{field: value})
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and f"system.{field}" in text and says in text
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content,says", [
    ("from locust import task\n\nclass Nobody:\n    pass\n", "defines no User class"),
    ("from locust import HttpUser\n\nclass Broken(HttpUser)\n    pass\n", "syntax error at line 3"),
])
def test_a_locustfile_that_cannot_work_is_refused(example: Path, tmp_path: Path, content, says):
    (example / "bad_locustfile.py").write_text(content)
    profile = write_profile(example, workload="bad_locustfile.py")
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.workload" in text and "bad_locustfile.py" in text and says in text


def test_a_missing_start_program_names_the_field(example: Path, tmp_path: Path):
    profile = write_profile(example, start="./no-such-server --port {port}")
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.start" in text and "no-such-server" in text


def test_a_failing_seed_stops_with_its_exit_code_and_output_and_stops_the_app(example: Path, tmp_path: Path):
    marker = f"i17-{uuid.uuid4().hex[:8]}"
    (example / "seed_fails.py").write_text("import sys\nprint('disk full, cannot grow the book')\nsys.exit(3)\n")
    profile = write_profile(example, seed="python3 seed_fails.py --customers {customers}",
                            start=f"python3 app.py --db {{workdir}}/tiny.db --port {{port}} --marker-{marker}")
    (example / "app.py").write_text((example / "app.py").read_text().replace(
        "a = ap.parse_args()", "a, _ = ap.parse_known_args()"))
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert "system.seed" in text and "exited with 3" in text and "disk full, cannot grow the book" in text
    assert marked(marker) == []


def test_an_audit_that_finds_wrong_books_fails_the_step_not_the_sweep(example: Path, tmp_path: Path):
    """The example's audit after a step whose book was changed behind its back (the seed keeps one
    customer fewer than asked): the step fails naming the audit and its finding; the sweep goes on."""
    (example / "seed_short.py").write_text(
        "import subprocess, sys\n"
        "args = sys.argv[1:]; i = args.index('--customers'); args[i + 1] = str(int(args[i + 1]) - 1)\n"
        "sys.exit(subprocess.call([sys.executable, 'seed.py', *args]))\n")
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc["system"]["seed"] = "python3 seed_short.py --db {workdir}/tiny.db --customers {customers}"
    doc["sweep"].update({"start_customers": 500, "max_customers": 500})
    profile = example / "short.yaml"
    profile.write_text(yaml.safe_dump(doc))
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 0, text
    (entry,) = json.loads((tmp_path / "out" / "capacity.json").read_text())["profiles"]
    (step,) = entry["steps"]
    assert not step["passed"] and step["audit"]["ok"] is False and step["audit"]["exit"] == 1
    assert "system.audit" in step["fail_reason"] and "499 customers in the book, 500 seeded" in step["fail_reason"]


def test_a_health_url_that_never_answers_gives_up_and_leaves_nothing_running(example: Path, tmp_path: Path):
    marker = f"i17-{uuid.uuid4().hex[:8]}"
    profile = write_profile(example, start=f"python3 -c 'import time; time.sleep(60)' {marker} {{port}}",
                            health_timeout_s=1.5)
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.health" in text and "/health" in text and "within 1.5 s" in text
    assert marked(marker) == []


def test_one_step_commands_refuse_an_external_profile_instead_of_measuring_the_reference_app(tmp_path: Path):
    code, text = jxcbench("run", str(EXAMPLE / "tinyjxc.yaml"), "--customers", "10", "--out", str(tmp_path / "run"))
    assert code == 2, text
    assert "tinyjxc.yaml: system:" in text and "jxcbench sweep" in text


@pytest.mark.parametrize("section,value,says", [
    ("database", {"engine": "postgresql"}, "database.engine"),
    ("architecture", {"workers": 2}, "architecture.workers"),
    ("workload", {"rate": 5}, "workload.rate 5"),
])
def test_settings_an_external_system_would_ignore_are_refused(example: Path, tmp_path: Path, section, value, says):
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc.setdefault(section, {}).update(value)
    profile = example / "ignored.yaml"
    profile.write_text(yaml.safe_dump(doc))
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and says in text and "external system" in text


def test_hardware_limits_need_a_system_jxcbench_starts(example: Path, tmp_path: Path):
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    del doc["system"]["start"]
    doc["system"]["base_url"] = "http://127.0.0.1:9"
    doc["hardware"] = {"memory": "512MiB"}
    profile = example / "running.yaml"
    profile.write_text(yaml.safe_dump(doc))
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "hardware.memory" in text and "system.start" in text


def test_a_database_url_that_is_not_one_is_refused(example: Path, tmp_path: Path):
    profile = write_profile(example, database_url="{workdir}/tiny.db")
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.database_url" in text and "is not a database URL" in text


LOGIN_LOCUSTFILE = '''from locust import HttpUser, between, task


class Clerk(HttpUser):
    wait_time = between(0.01, 0.03)

    @task
    def whoami(self):
        # a plain locustfile of a system with per-user logins reads the user jxcbench gives it
        self.client.get("/health", name=f"as_{self.jxcbench_operator['username']}")
'''


def logins_profile(example: Path, operators: int) -> Path:
    (example / "logins.py").write_text(LOGIN_LOCUSTFILE)
    (example / "users.csv").write_text("username,password\nalice,a1\nbob,b2\ncarol,c3\n")
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc["system"].update(workload="logins.py", users="users.csv")
    doc["workload"] = {"operators": operators}
    doc["sweep"].update(start_customers=100, max_customers=100)
    path = example / "logins.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_each_user_gets_its_own_login_from_the_csv(example: Path, tmp_path: Path):
    out = tmp_path / "out"
    code, text = jxcbench("sweep", str(logins_profile(example, 2)), "--out", str(out))
    assert code == 0, text
    step = json.loads(next(out.glob("logins/c100-*/step.json")).read_text())
    assert set(step["operations"]) == {"as_alice", "as_bob"}, step["operations"].keys()
    assert "a1" not in next(out.glob("logins/c100-*/plan.json")).read_text()  # no password in the results


def test_a_step_needing_more_users_than_logins_is_refused(example: Path, tmp_path: Path):
    code, text = jxcbench("sweep", str(logins_profile(example, 5)), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert "logins.yaml" in text and "system.users" in text and "gave 3 logins" in text and "needs 5 users" in text


def callback_profile(example: Path, operators: int, callback: str = "logins.py:logins") -> Path:
    """The example with per-user logins handed out by a callback: the shipped ``logins.py`` creates
    each account through the app's own API, ``locustfile_logins.py`` logs every user in as its own."""
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc["system"].update(workload="locustfile_logins.py", users={"callback": callback})
    doc["workload"] = {"operators": operators}
    doc["sweep"].update(start_customers=100, max_customers=100)
    path = example / "bylogin.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_each_user_logs_in_as_its_own_account_from_a_callback(example: Path, tmp_path: Path):
    import sqlite3

    out = tmp_path / "out"
    code, text = jxcbench("sweep", str(callback_profile(example, 4)), "--out", str(out))
    assert code == 0, text
    step_dir = next(out.glob("bylogin/c100-*"))
    step = json.loads((step_dir / "step.json").read_text())
    # The logins are not an operation judged; the locustfile's own requests are.
    assert set(step["operations"]) == {"me", "customer_open"}, step["operations"].keys()
    assert step["errors"] == 0 and step["logins"] == {"source": "system.users.callback", "given": 4, "users": 4}
    # The app's own books: four accounts, each logged in once (the last step's; a restored book
    # forgets what an earlier step did).
    conn = sqlite3.connect(out / "bylogin" / "tiny.db")
    logged = dict(conn.execute("SELECT username, logins FROM operator").fetchall())
    assert logged == {f"clerk-{i}": 1 for i in range(1, 5)}, logged
    # The callback's answer went to the engine in a private file, gone with the step; no password
    # anywhere in the results.
    plan = json.loads((step_dir / "plan.json").read_text())
    assert plan["credentials_json"] and not Path(plan["credentials_json"]).exists()
    assert not any("pw-1" in f.read_text(errors="replace") for f in step_dir.iterdir() if f.suffix in (".json", ".log"))


def test_a_callback_with_fewer_logins_than_users_is_refused_with_the_numbers(example: Path, tmp_path: Path):
    marker = f"i17-{uuid.uuid4().hex[:8]}"
    (example / "three.py").write_text("def logins(count, customers, base_url):\n"
                                      "    return [{'username': f'u{i}', 'password': 'x'} for i in range(3)]\n")
    profile = callback_profile(example, 5, "three.py:logins")
    doc = yaml.safe_load(profile.read_text())
    doc["system"]["start"] = f"python3 app.py --db {{workdir}}/tiny.db --port {{port}} --marker-{marker}"
    profile.write_text(yaml.safe_dump(doc))
    (example / "app.py").write_text((example / "app.py").read_text().replace(
        "a = ap.parse_args()", "a, _ = ap.parse_known_args()"))
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.users.callback" in text and "three.py:logins" in text
    assert "gave 3 logins" in text and "needs 5 users" in text
    assert marked(marker) == []


@pytest.mark.parametrize("users,says", [
    ({"callback": "nowhere.py:logins"}, "does not exist"),
    ({"callback": "logins.py:no_such_function"}, "defines no function 'no_such_function'"),
    ({"callback": "logins"}, "must be FILE.py:function"),
    ({"csv": "users.csv", "callback": "logins.py:logins"}, "exactly one of csv"),
])
def test_a_bad_logins_callback_is_refused_before_anything_runs(example: Path, tmp_path: Path, users, says):
    profile = write_profile(example, users=users)
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.users" in text and says in text
    assert not (tmp_path / "out").exists()


def test_a_failing_callback_names_the_field_and_its_error(example: Path, tmp_path: Path):
    (example / "broken.py").write_text("def logins(count, customers, base_url):\n"
                                       "    raise RuntimeError('the admin API refused us')\n")
    code, text = jxcbench("sweep", str(callback_profile(example, 2, "broken.py:logins")), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert "system.users.callback" in text and "failed (exit 1)" in text and "the admin API refused us" in text


def test_the_started_system_and_the_load_die_with_a_killed_sweep(example: Path, tmp_path: Path):
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc["sweep"].update(step_duration_s=60)
    profile = example / "long.yaml"
    profile.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "loadgen.cli", "sweep", str(profile), "--out", str(out)],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        # the app (its --db is in out) and the load engine (its plan is in out) both running
        def children() -> list[psutil.Process]:
            return [p for p in marked(str(out)) if p.pid != proc.pid]  # the sweep's own --out matches too

        while time.time() < deadline and not (len(children()) >= 2 and list(out.glob("long/c*/plan.json"))):
            assert proc.poll() is None, "the sweep ended before its first step was under way"
            time.sleep(0.2)
        running = children()
        assert len(running) >= 2, [p.info["cmdline"] for p in running]
    finally:
        proc.kill()
        proc.wait()
    gone, alive = psutil.wait_procs(running, timeout=5)
    assert alive == [], [p.cmdline() for p in alive]


def test_a_locustfile_that_fails_to_import_is_refused_before_the_system_starts(example: Path, tmp_path: Path):
    marker = f"i17-{uuid.uuid4().hex[:8]}"
    (example / "imports.py").write_text("import no_such_helper_module\nfrom locust import HttpUser\n\n\n"
                                        "class Sales(HttpUser):\n    pass\n")
    profile = write_profile(example, workload="imports.py",
                            start=f"python3 app.py --db {{workdir}}/tiny.db --port {{port}} --marker-{marker}")
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.workload" in text and "no_such_helper_module" in text
    assert marked(marker) == [] and not (tmp_path / "out" / "broken" / "start.log").exists()


def test_the_staffing_gives_each_user_class_its_roles_online_count(example: Path, tmp_path: Path):
    """``system.personas`` maps the locustfile's classes to staffing roles: a staffed step runs the
    online salespeople as Salesperson users and the online back office as BackOffice users, exactly
    (not Locust's 3:1 weights)."""
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc["system"]["personas"] = {"Salesperson": "sales", "BackOffice": "back_office"}
    doc["sweep"].update(start_customers=2000, max_customers=2000)
    profile = example / "roles.yaml"
    profile.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    code, text = jxcbench("sweep", str(profile), "--out", str(out))
    assert code == 0, text
    step = json.loads(next(out.glob("roles/c2000-*/step.json")).read_text())
    online = step["staffing"]["online"]
    want = {"Salesperson": online["sales"], "BackOffice": online["back_office"]}
    assert step["staffing"]["classes"] == want and step["users_by_class"] == want, step["users_by_class"]
    assert step["operators"] == sum(want.values()) and want["BackOffice"] >= 1 and want["Salesperson"] > 3


def test_too_few_logins_for_a_role_is_refused_naming_the_role(example: Path, tmp_path: Path):
    """With ``system.personas`` a class's users log in as its role's accounts: logins with a
    ``role`` column that hold fewer back-office accounts than the step's online back office are bad
    input, named with the role and both numbers, before any load."""
    (example / "users.csv").write_text("username,password,role\n" + "".join(f"s{i},x,sales\n" for i in range(500)))
    profile = write_profile(example, personas={"Salesperson": "sales", "BackOffice": "back_office"},
                            users="users.csv")
    doc = yaml.safe_load(profile.read_text())
    doc["sweep"].update(start_customers=2000, max_customers=2000)
    profile.write_text(yaml.safe_dump(doc))
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.users" in text and "system.personas" in text
    assert "0 logins have role 'back_office'" in text and "BackOffice users need one each" in text, text


@pytest.mark.parametrize("personas,says", [
    ({"Salesperson": "sales", "Nobody": "clerk", "BackOffice": "back_office"}, "names 'Nobody'"),
    ({"Salesperson": "sales"}, "leaves out 'BackOffice'"),
    ({"Salesperson": "sales", "BackOffice": "sales"}, "role 'sales' is given to"),
    ({"Salesperson": "cashier", "BackOffice": "sales"}, "cashier"),
])
def test_a_bad_persona_mapping_is_refused(example: Path, tmp_path: Path, personas, says):
    profile = write_profile(example, personas=personas)
    code, text = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert code == 2, text
    assert str(profile) in text and "system.personas" in text and says in text
