"""constraints.txt: every dependency pinned, in agreement with pyproject.toml's own pins."""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.processes import BASE_DIR


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (BASE_DIR / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_every_dependency_pyproject_names_is_locked_at_the_version_it_pins() -> None:
    pins = _constraints()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in constraints.txt: run make lock"
        assert requirement.specifier.contains(pins[name]), (
            f"constraints.txt has {name}=={pins[name]}, pyproject.toml wants "
            f"{requirement.specifier}: run make lock"
        )


def test_the_installed_environment_is_the_locked_one() -> None:
    # What `make test` installed (from a fresh clone, CI's case) is what constraints.txt says.
    pins = _constraints()
    for distribution in metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        if name in pins:
            assert distribution.version == pins[name], (name, distribution.version, pins[name])
