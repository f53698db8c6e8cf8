"""core.serving runs with the rest of core absent, as it does inside an exported bundle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.serving.helpers import ROOT

CHECK = """
import importlib, json, pkgutil, sys
import core, core.serving
assert core.__file__.startswith(sys.argv[1]), core.__file__
try:
    import core.errors
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("the real core was found: " + core.errors.__file__)
for info in pkgutil.walk_packages(core.serving.__path__, "core.serving."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
from core.serving import ServingConfig, create_app
app = create_app(sys.argv[2], ServingConfig())
reply = app.test_client().post(
    "/predict", json={"records": [json.loads(sys.argv[3])]}, headers={"Host": "localhost:80"}
)
assert reply.status_code == 200, reply.get_data(as_text=True)
outside = sorted(n for n in sys.modules if n.startswith("core.") and "core.serving" not in n)
banned = sorted(n for n in sys.modules if n.split(".")[0] in ("sqlalchemy", "alembic", "tomlkit"))
assert not outside and not banned, (outside, banned)
print("ok", reply.get_json()["predictions"])
"""


def test_core_serving_imports_and_serves_without_the_rest_of_core(tmp_path: Path, models) -> None:
    package = tmp_path / "bundle" / "core"
    shutil.copytree(
        ROOT / "core" / "serving", package / "serving", ignore=shutil.ignore_patterns("__pycache__")
    )
    (package / "__init__.py").write_text("")
    site_packages = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # -S: no site module, so the editable install's finder (which maps "core" to this
    # repository) never loads; the bundle folder and the third-party packages are all there is.
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "bundle"), site_packages])
    row = json.dumps({"island": "Biscoe", "bill_length_mm": 45.1, "bill_depth_mm": 14.5,
                      "flipper_length_mm": 215, "body_mass_g": 5000, "sex": "female",
                      "year": 2008})  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-S", "-c", CHECK, str(package), str(models["v1"]), row],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")
