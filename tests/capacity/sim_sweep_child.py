"""Child process for the kill test: a sweep of the SIMULATED runner, slow enough to be killed mid-way."""

from __future__ import annotations

import sys
from pathlib import Path

from loadgen.capacity.sweep import run_sweep
from tests.capacity.simulated import SimulatedStepRunner, profile_dict

if __name__ == "__main__":
    out = Path(sys.argv[1])
    run_sweep([profile_dict(repeats=2)], out, runner=SimulatedStepRunner(37_000, delay_s=0.3))
