"""An external system inside the profile's cgroup (issue 17): limits apply, resources are sampled.

Real cgroups (root, v1 or v2): the example's start command is a small launcher that starts the app
as its child, and each writes down the cgroup the kernel put it in; the step's resources must show
the system's CPU, the allowance from the profile's limits, the cgroup's memory charge and the size
of the database ``system.database_url`` names; and nothing of the run's cgroup is left after it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from loadgen.sut import cgroups as cg
from tests.capacity.test_external import EXAMPLE
from tests.cli.test_bad_input import jxcbench
from tests.sut.conftest import cgroups_writable  # noqa: F401 - the fixture

MiB = 1024**2

# Writes where it runs, then runs the app as its child (which writes where it runs, too).
LAUNCHER = '''import os, subprocess, sys
workdir = sys.argv[1]
open(os.path.join(workdir, "launcher.cgroup"), "w").write(open("/proc/self/cgroup").read())
code = ("import os, runpy, sys; open(os.path.join(sys.argv[1], 'app.cgroup'), 'w').write(open('/proc/self/cgroup').read()); "
        "sys.argv = ['app.py'] + sys.argv[2:]; runpy.run_path('app.py', run_name='__main__')")
sys.exit(subprocess.call([sys.executable, "-c", code, workdir, *sys.argv[2:]]))
'''


def test_the_started_system_runs_in_the_profiles_cgroup_and_its_resources_are_sampled(cgroups_writable, tmp_path: Path):  # noqa: F811
    example = tmp_path / "tinyjxc"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__", "*.db*"))
    (example / "launcher.py").write_text(LAUNCHER)
    doc = yaml.safe_load((example / "tinyjxc.yaml").read_text())
    doc["system"]["start"] = "python3 launcher.py {workdir} --db {workdir}/tiny.db --port {port}"
    doc["system"]["database_url"] = "sqlite:///{workdir}/tiny.db"
    doc["hardware"] = {"cpus": 1, "memory": "512MiB"}
    doc["sweep"].update(start_customers=2000, max_customers=2000)
    profile = example / "limited.yaml"
    profile.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    code, text = jxcbench("sweep", str(profile), "--out", str(out))
    assert code == 0, text
    step_dir = next(out.glob("limited/c2000-*"))
    step = json.loads((step_dir / "step.json").read_text())
    group = Path(step["system"]["cgroup"].split(",")[0]).name
    assert group.startswith(cg.PREFIX), step["system"]
    # The started process and the app it started both ran inside the run's group (every hierarchy).
    for who in ("launcher", "app"):
        lines = (out / "limited" / f"{who}.cgroup").read_text().splitlines()
        # v1: the cpu and memory hierarchies' lines; v2: the one unified line
        wanted = [x for x in lines if {"cpu", "memory"} & set(x.split(":")[1].split(","))] if cgroups_writable == 1 \
            else [x for x in lines if x.startswith("0::")]
        assert len(wanted) >= (2 if cgroups_writable == 1 else 1) and all(group in x for x in wanted), (who, lines)
    limits = step["system"]["limits"]
    assert limits["mode"] == f"cgroup v{cgroups_writable}" and limits["cpus"] == 1.0 and limits["memory"] == 512 * MiB
    res = step["resources"]
    assert res["cpu_allowance_cores"] == 1.0 and res["cpu_allowance_source"] == "quota"
    assert res["memory_allowance_bytes"] == 512 * MiB
    assert res["app_cpu_pct"] > 1.0, res  # the app's own CPU, through the launcher's tree
    assert res["app_rss_mb"] > 5, res
    assert res.get("memory_usage_bytes_peak"), res  # the cgroup's charge, read every second
    # The database the profile names: its size in the step's resources and in the level's book.
    assert res["db_bytes"] and res["db_bytes"] > 100_000, res
    assert step["book"]["db_bytes"] > 100_000 and step["system"]["database"]["url"].startswith("sqlite:///")
    assert step["unconstrained"] is False
    # The group is gone with the sweep.
    assert cg.leftovers(group.removeprefix(cg.PREFIX)) == []
