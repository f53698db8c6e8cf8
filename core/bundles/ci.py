"""CI pipelines that retrain, gate and bundle a model when its data or settings change.

``shipway ci init --provider github|gitlab`` writes one from the model's latest version: its run
spec (data set, target, task, estimator, parameters, features, split, seed) and the file its
data set was imported from. On a push that changes that file or ``shipway.toml`` (or the
pipeline itself), the job installs Shipway and runs, in the project folder::

    shipway data import FILE --name DATA          # a new version only if the file changed
    shipway train --data DATA ... --json > run.json
    shipway models register RUN --name MODEL --json > version.json
    shipway ci gate MODEL@V --alias production    # exit 3: the job fails, each rule's sentence
    shipway bundle export MODEL@V -o dist/...zip
    shipway bundle verify dist/...zip

and keeps ``dist/*.zip`` as the job's artefact. The gate evaluates the rules guarding
``production`` in shipway.toml without moving any alias: promotion stays a person's decision.
The install line pins this Shipway's version; point it at wherever the team's Shipway package
lives.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from core import __version__
from core.bundles import yaml_text
from core.entities import ModelVersion
from core.errors import InvalidInput
from core.project import Project

PROVIDERS = ("github", "gitlab")
DEFAULT_OUTPUT = {"github": ".github/workflows/shipway.yml", "gitlab": ".gitlab-ci.yml"}
GATE_ALIAS = "production"
STEP = "Train, gate, export and verify"


@dataclass(frozen=True)
class Recipe:
    """How the pipeline retrains a model: paths relative to the repository root (POSIX)."""

    model: str
    dataset: str
    data_file: str
    project_dir: str
    python: str
    train: tuple[str, ...] = field(default_factory=tuple)  # the arguments after `shipway train`

    def data_in_project(self) -> str:
        """The data file as seen from the project folder (where the commands run)."""
        if self.project_dir == ".":
            return self.data_file
        return str(_relative(PurePosixPath(self.data_file), PurePosixPath(self.project_dir)))

    @property
    def slug(self) -> str:
        import re

        return re.sub(r"[^a-z0-9]+", "-", self.model.lower()).strip("-") or "model"


def _relative(path: PurePosixPath, start: PurePosixPath) -> PurePosixPath:
    parts, base = path.parts, start.parts
    common = 0
    while common < min(len(parts), len(base)) and parts[common] == base[common]:
        common += 1
    return PurePosixPath(*([".."] * (len(base) - common)), *parts[common:])


def recipe_for(
    project: Project, version: ModelVersion, data_file: str | None, repo_root: Path
) -> Recipe:
    """The recipe of ``version``'s latest training, with paths relative to ``repo_root``."""
    spec = version.spec
    dataset = project.repo.get_version(version.dataset, version.dataset_version)
    source = Path(data_file) if data_file else Path(dataset.source)
    source = source if source.is_absolute() else (Path.cwd() / source)
    root, folder = repo_root.resolve(), project.root.resolve()
    for path, what in ((source.resolve(), "the data file"), (folder, "the project folder")):
        if not path.is_relative_to(root):
            raise InvalidInput(
                f"{what} {path} is not inside the repository {root}",
                where=str(path),
                hint="give --data-file (a file inside the repository) and --repo-root",
            )
    if not source.is_file():
        raise InvalidInput(
            f"the data file {source} does not exist",
            where=str(source),
            hint="give --data-file: the file the pipeline imports",
        )
    return Recipe(
        model=version.model,
        dataset=version.dataset,
        data_file=source.resolve().relative_to(root).as_posix(),
        project_dir=folder.relative_to(root).as_posix() or ".",
        python=_python(version),
        train=tuple(_train_arguments(spec)),
    )


def _python(version: ModelVersion) -> str:
    parts = str(version.environment.get("python", "3.11")).split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else "3.11"


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _train_arguments(spec: dict[str, Any]) -> list[str]:
    split = spec.get("split", {})
    arguments = [
        "--data",
        spec["dataset"],
        "--target",
        spec["target"],
        "--task",
        spec["task"],
        "--model",
        spec["estimator"],
    ]
    for name, value in sorted(spec.get("params", {}).items()):
        arguments += ["--param", f"{name}={_value(value)}"]
    arguments += ["--features", ",".join(spec["features"])]
    arguments += ["--test-size", f"{split.get('test_size', 0.2):g}"]
    arguments += ["--split", split.get("kind", "train_test")]
    arguments += ["--cv", str(spec.get("cv_folds", 0)), "--seed", str(spec.get("seed", 42))]
    if spec.get("preprocessing", {}).get("infinite") == "missing":
        arguments.append("--inf-as-missing")
    return arguments


def commands(recipe: Recipe) -> list[str]:
    """The shell lines of the job, run in the project folder, one shell for all."""
    model = recipe.model
    archive = f'dist/{recipe.slug}-"$version".zip'
    read = "python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])'"
    train = " ".join(shlex.quote(a) for a in recipe.train)
    return [
        f"shipway data import {shlex.quote(recipe.data_in_project())} "
        f"--name {shlex.quote(recipe.dataset)}",
        f"shipway train {train} --json > run.json",
        f"run=$({read} run.json run)",
        f'shipway models register "$run" --name {shlex.quote(model)} --json > version.json',
        f"version=$({read} version.json version)",
        f'shipway ci gate {shlex.quote(model)}@"$version" --alias {GATE_ALIAS}',
        "mkdir -p dist",
        f'shipway bundle export {shlex.quote(model)}@"$version" -o {archive}',
        f"shipway bundle verify {archive}",
    ]


def _install() -> str:
    return f'python -m pip install "shipway=={__version__}"'


def _watched(recipe: Recipe, pipeline: str) -> list[str]:
    toml = str(PurePosixPath(recipe.project_dir) / "shipway.toml")
    return [recipe.data_file, toml.removeprefix("./"), pipeline]


def github(recipe: Recipe, pipeline: str = DEFAULT_OUTPUT["github"]) -> str:
    """A GitHub Actions workflow."""
    script = "\n".join(commands(recipe)) + "\n"
    dist = str(PurePosixPath(recipe.project_dir) / "dist" / "*.zip").removeprefix("./")
    workflow = {
        "name": f"Shipway: retrain, gate and bundle {recipe.model}",
        "on": {"push": {"paths": _watched(recipe, pipeline)}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "jobs": {
            "train-gate-bundle": {
                "runs-on": "ubuntu-24.04",
                "timeout-minutes": 60,
                "defaults": {"run": {"shell": "bash", "working-directory": recipe.project_dir}},
                "steps": [
                    {"name": "Check out", "uses": "actions/checkout@v4"},
                    {
                        "name": "Set up Python",
                        "uses": "actions/setup-python@v5",
                        "with": {"python-version": recipe.python},
                    },
                    {"name": "Install Shipway", "run": _install()},
                    {"name": STEP, "run": script},
                    {
                        "name": "Keep the bundle",
                        "uses": "actions/upload-artifact@v4",
                        "with": {
                            "name": f"{recipe.slug}-bundle",
                            "path": dist,
                            "if-no-files-found": "error",
                        },
                    },
                ],
            }
        },
    }
    return yaml_text.dump(workflow, _comment(recipe, "GitHub Actions"))


def gitlab(recipe: Recipe, pipeline: str = DEFAULT_OUTPUT["gitlab"]) -> str:
    """A GitLab CI pipeline."""
    dist = str(PurePosixPath(recipe.project_dir) / "dist") + "/"
    job = {
        "stage": "train",
        "image": f"python:{recipe.python}-slim",
        "rules": [
            {"changes": _watched(recipe, pipeline)},
            {"if": '$CI_PIPELINE_SOURCE == "web"'},
        ],
        "before_script": [_install()],
        "script": [f"cd {shlex.quote(recipe.project_dir)}", *commands(recipe)],
        "artifacts": {
            "name": f"{recipe.slug}-bundle",
            "paths": [dist.removeprefix("./")],
            "when": "on_success",
            "expire_in": "30 days",
        },
    }
    document = {"stages": ["train"], f"shipway-{recipe.slug}": job}
    return yaml_text.dump(document, _comment(recipe, "GitLab CI"))


def _comment(recipe: Recipe, provider: str) -> str:
    return (
        f"{provider}: retrain {recipe.model} when {recipe.data_file} or shipway.toml change,\n"
        f"gate it ({GATE_ALIAS}'s rules: exit 3 fails the job), export and verify its bundle.\n"
        "Written by `shipway ci init`; edit the install line to point at your Shipway package.\n"
        f"Recipe: {json.dumps({'data': recipe.dataset, 'model': recipe.model})}"
    )


def pipeline(provider: str, recipe: Recipe, path: str) -> str:
    if provider not in PROVIDERS:
        raise InvalidInput(f"unknown CI provider {provider!r}", hint="github or gitlab")
    return github(recipe, path) if provider == "github" else gitlab(recipe, path)
