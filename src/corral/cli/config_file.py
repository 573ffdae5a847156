"""The ``--config`` YAML file: keys are option names, values have their types.

A config file is a YAML mapping whose keys are the long option names
without dashes in front (``https-port: 8443``, ``tls-san: [a, b]``). It is
loaded by an eager ``--config`` callback into click's ``default_map``, which
gives the precedence flag > ``CORRAL_*`` environment variable > config file
> built-in default for free. Anything wrong with the file (unreadable,
invalid YAML, not a mapping, an unknown key, a value of the wrong type or
out of range) is a `ConfigFileError` naming the file and the key, checked
before anything else happens. An empty value (``key:``) means "not set".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from corral.cli.duration import DurationType
from corral.cli.errors import ConfigFileError

#: Options that cannot appear in a config file.
NOT_IN_FILE = frozenset({"config"})


def load_config_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Eager ``--config`` callback: load the file into ``ctx.default_map``."""
    if not value:
        return
    values = load_config(Path(value), ctx.command)
    ctx.default_map = {**(ctx.default_map or {}), **values}


def load_config(path: Path, command: click.Command) -> dict[str, Any]:
    """The file's settings, keyed by parameter name, checked against ``command``."""
    doc = _parse(path)
    options = {
        opt.name: opt
        for opt in command.params
        if isinstance(opt, click.Option) and opt.name and opt.name not in NOT_IN_FILE
    }
    known = sorted(name.replace("_", "-") for name in options)
    values: dict[str, Any] = {}
    for key, value in doc.items():
        name = key.replace("-", "_") if isinstance(key, str) and "_" not in key else None
        option = options.get(name) if name else None
        if option is None or name is None:
            raise ConfigFileError(f"{path}: unknown key {key!r} (known keys: {', '.join(known)})")
        if value is None:
            continue
        values[name] = _check_value(path, key, option, value)
    return values


def _parse(path: Path) -> dict[Any, Any]:
    import yaml  # only when a config file is given

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigFileError(f"{path}: cannot read the config file: {why}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: invalid YAML: {_yaml_problem(exc)}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigFileError(f"{path}: the config file must be a mapping of option names")
    return doc


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or "cannot parse"
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


def _check_value(path: Path, key: str, option: click.Option, value: Any) -> Any:
    """``value`` if its YAML type fits the option and click accepts it."""
    where = f"{path}: key {key!r}"
    if option.multiple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigFileError(f"{where}: expected a list of strings")
        value = items
    else:
        expected = _yaml_type(option.type)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            names = " or ".join(
                {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[t]
                for t in (expected if isinstance(expected, tuple) else (expected,))
            )
            raise ConfigFileError(f"{where}: expected {names}, got {value!r}")
    try:
        return option.type_cast_value(click.Context(click.Command("check")), value)
    except click.BadParameter as exc:
        raise ConfigFileError(f"{where}: {exc.message}") from None


def _yaml_type(param_type: click.ParamType[Any]) -> type | tuple[type, ...]:
    if isinstance(param_type, click.types.IntParamType):
        return int
    if isinstance(param_type, click.types.FloatParamType):
        return (int, float)
    if isinstance(param_type, click.types.BoolParamType):
        return bool
    if isinstance(param_type, DurationType):
        return (int, str)
    return str
