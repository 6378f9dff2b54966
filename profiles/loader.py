"""Reading profile files: plain profiles and matrix files, with errors that name file, field and value.

A *matrix* file holds a ``base`` profile and a ``matrix`` of dotted field paths to lists of values;
it expands into the cartesian product, one profile per combination::

    name: "pg-{hardware.cpus}cpu-{architecture.workers}w"   # optional; {dotted.path} placeholders
    base:
      database: {engine: postgresql}
      hardware: {memory: 2GiB}
    matrix:
      hardware.cpus: [1, 2]
      architecture.workers: [1, 4]

Without a ``name`` template the names are ``<file stem>-<field><value>-...`` (e.g.
``pg-matrix-cpus1-workers4``).

An axis may instead map *labels* to values: the value is set as it is (a whole section, or null to
leave it out), and the label, not the value, goes into the name. A section or a null has no short
spelling of its own, so this is how an axis varies one::

    name: "pg-{architecture.kind}-{architecture.network}"
    matrix:
      architecture.kind: [monolith, microservices]
      architecture.network: {db-local: null, db-0.5ms: {rtt_ms: 0.5}}

A value replaces whatever ``base`` holds at that path (a section is not merged into base's).
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from loadgen.errors import JxcError
from profiles.schema import Profile

_MATRIX_KEYS = {"name", "base", "matrix"}
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # what a profile name may hold (profiles.schema._NAME)
SHIPPED_DIR = Path(__file__).resolve().parent  # the profiles that ship with jxcbench
QUICKSTART_PROFILE = SHIPPED_DIR / "sqlite-quickstart.yaml"


class ProfileError(JxcError):
    """A profile file that cannot be used; the message reads ``FILE: field.path: message``."""


def load_profiles(paths: Iterable[str | Path]) -> list[Profile]:
    """Every profile in ``paths`` (matrix files expanded), in order; names must be unique."""
    out: list[Profile] = []
    seen: dict[str, Path] = {}
    for p in paths:
        path = Path(p)
        for profile in load_file(path):
            if profile.name in seen:
                raise ProfileError(f"{path}: name: {profile.name!r} is also defined in {seen[profile.name]}")
            seen[profile.name] = path
            out.append(profile)
    return out


def load_profile(path: str | Path) -> Profile:
    """The one profile in ``path``; a matrix file that expands to several is an error here."""
    profiles = load_file(Path(path))
    if len(profiles) != 1:
        raise ProfileError(f"{path}: expands to {len(profiles)} profiles; pick one (or use sweep/guide)")
    return profiles[0]


def load_file(path: Path) -> list[Profile]:
    data = _read_yaml(path)
    if "matrix" in data:
        return _expand_matrix(path, data)
    data.setdefault("name", path.stem)
    return [_validate(path, data)]


def profile_files(directory: str | Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files in ``directory``, sorted."""
    d = Path(directory)
    if not d.is_dir():
        raise ProfileError(f"{d}: not a directory")
    return sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ProfileError(f"{path}: no such file")
    if not path.is_file():
        raise ProfileError(f"{path}: not a file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{path}: {where}not valid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read: {exc}") from None
    if data is None:
        raise ProfileError(f"{path}: empty file (a profile needs at least a database or hardware section)")
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile is a mapping of sections, got {type(data).__name__}")
    return data


def _validate(path: Path, data: dict[str, Any], *, combo: str = "") -> Profile:
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{path}: {format_validation_error(exc)}{combo}") from None
    if profile.system is not None:
        # An external system's commands and locustfile are relative to the profile file, wherever
        # jxcbench is run from; its locustfile is checked now, before anything starts.
        from loadgen.workload.locustfile import check_locustfile

        base = Path(profile.system.dir) if profile.system.dir else Path(path).resolve().parent
        profile.system.dir = str(base if base.is_absolute() else Path(path).resolve().parent / base)
        profile.system.source = str(path)
        try:
            classes = check_locustfile(Path(profile.system.dir) / profile.system.workload, where="system.workload")
            mapped = profile.system.personas
            if mapped and set(mapped) != set(classes):
                odd = sorted(set(mapped) - set(classes))
                what = (f"names {odd[0]!r}, not a User class of {profile.system.workload}" if odd else
                        f"leaves out {sorted(set(classes) - set(mapped))[0]!r}")
                raise JxcError(f"system.personas: {what} (its User classes: {', '.join(classes)}; map every one)")
            users = profile.system.users
            if users is not None and not isinstance(users, str) and users.callback:
                from loadgen.workload.logins import check_callback

                check_callback(users.callback, Path(profile.system.dir), where=users.where)
        except JxcError as exc:
            raise ProfileError(f"{path}: {exc}{combo}") from None
    return profile


def format_validation_error(exc: ValidationError) -> str:
    """The first error as ``field.path: message (got VALUE)``; more errors are counted."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = f"unknown field {err['loc'][-1]!r}"
    elif kind == "value_error":
        # Our validators already name the value; drop pydantic's "Value error, " prefix.
        msg = str(err["msg"]).removeprefix("Value error, ")
    else:
        msg = f"{err['msg']} (got {err.get('input')!r})"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return f"{loc}: {msg}"


def _expand_matrix(path: Path, data: dict[str, Any]) -> list[Profile]:
    unknown = sorted(set(data) - _MATRIX_KEYS)
    if unknown:
        raise ProfileError(
            f"{path}: {unknown[0]}: unknown field in a matrix file (a matrix file holds name, base and matrix)"
        )
    base = data.get("base") or {}
    matrix = data["matrix"]
    template = data.get("name")
    if not isinstance(base, dict):
        raise ProfileError(f"{path}: base: must be a profile mapping, got {type(base).__name__}")
    if "name" in base:
        raise ProfileError(f"{path}: base.name: names come from the matrix (use a top-level name template)")
    if not isinstance(matrix, dict) or not matrix:
        raise ProfileError(f"{path}: matrix: must map dotted field paths to lists of values")
    axes = {key: _axis(path, key, values) for key, values in matrix.items()}
    keys = list(axes)
    profiles = []
    for combo in itertools.product(*(axes[k] for k in keys)):
        doc = copy.deepcopy(base)
        for key, (_, value) in zip(keys, combo, strict=True):
            _set_dotted(path, doc, key, copy.deepcopy(value))
        assignment = {k: label for k, (label, _) in zip(keys, combo, strict=True)}
        doc["name"] = _combo_name(path, template, assignment)
        shown = ", ".join(f"{k}={v}" for k, v in assignment.items())
        profiles.append(_validate(path, doc, combo=f" (matrix combination {shown})"))
    return profiles


def _axis(path: Path, key: str, values: Any) -> list[tuple[Any, Any]]:
    """One matrix axis as (label, value) pairs: a list's values label themselves; a mapping gives
    each value a label (for sections and null, see the module docstring)."""
    if isinstance(values, list) and values:
        return [(v, v) for v in values]
    if isinstance(values, dict) and values:
        for label in values:
            if not isinstance(label, str) or not _LABEL.match(label):
                raise ProfileError(f"{path}: matrix.{key}: label {label!r} may hold only letters, digits, '.', '_' "
                                   "and '-' (it goes into the profile names)")
        return list(values.items())
    raise ProfileError(f"{path}: matrix.{key}: must be a non-empty list of values or a mapping of labels to "
                       f"values, got {values!r}")


def _set_dotted(path: Path, doc: dict[str, Any], dotted: str, value: Any) -> None:
    parts = str(dotted).split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ProfileError(f"{path}: matrix.{dotted}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def _combo_name(path: Path, template: str | None, assignment: dict[str, Any]) -> str:
    if template is None:
        parts = [path.stem] + [f"{k.split('.')[-1]}{_slug(v)}" for k, v in assignment.items()]
        return "-".join(parts)

    def fill(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in assignment:
            raise ProfileError(f"{path}: name: placeholder {{{key}}} is not a matrix field ({', '.join(assignment)})")
        return _slug(assignment[key])

    return re.sub(r"\{([^}]+)\}", fill, str(template))


def _slug(value: Any) -> str:
    if isinstance(value, str) and _LABEL.match(value):
        return value  # a label, or a plain word: already fit for a name (keeps its '-')
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"[^A-Za-z0-9._]+", "", str(value)) or "x"


__all__ = ["ProfileError", "load_profiles", "load_profile", "load_file", "profile_files", "format_validation_error"]
