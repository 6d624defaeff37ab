"""The lock files pin, with hashes, a version of every requirement setup.cfg names, inside its
range: `make` installs from them, so what is tested is what every machine runs."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)\s*\\?$")


def _requirements(section: str, key: str) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg[section][key].splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    pins: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            assert lines[i + 1].strip().startswith("--hash=sha256:"), f"{name} has no hash"
            pins[name] = match.group(2)
    return pins


@pytest.mark.parametrize(
    ("lock", "extra"), [("base.txt", None), ("dev.txt", None), ("dev.txt", "dev")]
)
def test_every_requirement_is_pinned_with_a_hash_inside_its_range(
    lock: str, extra: str | None
) -> None:
    pins = _pins(lock)
    wanted = (
        _requirements("options.extras_require", extra)
        if extra
        else _requirements("options", "install_requires")
    )
    assert wanted
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements/{lock}: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {req.name}=={pins[name]}, outside {req.specifier}: "
            "run `make lock`"
        )
