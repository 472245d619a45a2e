from __future__ import annotations

import subprocess
import sys


def test_study_import_stays_light() -> None:
    code = (
        "import sys, splitexit.study;"
        "heavy = ('torch', 'onnxruntime', 'scipy', 'scikit_posthocs', 'statsmodels', 'pandas',"
        " 'matplotlib');"
        "bad = [m for m in sys.modules if m.split('.')[0] in heavy];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
