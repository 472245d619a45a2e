from __future__ import annotations

import subprocess
import sys


def test_package_import_and_planner_stay_free_of_torch() -> None:
    code = (
        "import sys, splitexit, splitexit.cli, splitexit.reports;"
        "splitexit.plan(splitexit.load_profile('example'), splitexit.load_topology('iot'));"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'onnxruntime')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workers_and_the_fidelity_report_stay_free_of_torch() -> None:
    code = (
        "import sys, splitexit.runtime, splitexit.fidelity, splitexit.experiment;"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'torch'];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
