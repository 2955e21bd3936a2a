"""Loading YAML configs safely and turning every problem into one clear line.

A :class:`ConfigError` carries the file, the line (1-based, where YAML gives it), the dotted field
path and what is allowed. ``str(error)`` is the line the CLI prints after ``error:``:
``FILE:LINE: FIELD: what is wrong (allowed: ...)``.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[int | str, ...]
Model = TypeVar("Model", bound=BaseModel)


class ConfigError(Exception):
    """A config that cannot be used; printed as one line by the CLI."""

    def __init__(
        self, path: str | Path, message: str, *, line: int | None = None, field: str = "",
        allowed: str = "",
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        self.allowed = allowed
        super().__init__(self.render())

    def render(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [where]
        if self.field:
            parts.append(self.field)
        text = ": ".join(parts) + f": {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


MAX_DEPTH = 32  # nesting of mappings and lists in any config file
MAX_NODES = 1_000_000  # values in one config file


def read_yaml(path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path`` as safe YAML; also return the node tree for line numbers.

    Duplicate keys in a mapping and nesting deeper than :data:`MAX_DEPTH` are errors.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, f"cannot be read: {error.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_tree(path, node)
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(
            path, f"malformed YAML: {problem}", line=None if mark is None else mark.line + 1,
        ) from None
    except RecursionError:
        raise ConfigError(path, "malformed YAML: nested too deeply",
                          allowed=f"at most {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    return data, node


def _check_tree(path: Path, root: yaml.Node) -> None:
    """Refuse duplicate keys and deep nesting (iteratively: no recursion on hostile input)."""
    stack: list[tuple[yaml.Node, int, str]] = [(root, 1, "")]
    visited = 0
    while stack:
        node, depth, where = stack.pop()
        visited += 1  # aliases count each time they are used: no "billion laughs"
        if visited > MAX_NODES:
            raise ConfigError(path, "too large", allowed=f"at most {MAX_NODES:,} values, "
                              "aliases counted at every use")
        if depth > MAX_DEPTH and isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            raise ConfigError(path, "nested too deeply", line=node.start_mark.line + 1,
                              field=where or "(top level)", allowed=f"at most {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key.tag)
                if name in keys:
                    raise ConfigError(path, "duplicate key", line=key.start_mark.line + 1,
                                      field=f"{where}.{name}" if where else name,
                                      allowed="each key once per mapping")
                keys.add(name)
                stack.append((value, depth + 1, f"{where}.{name}" if where else name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, depth + 1, f"{where}[{index}]"))


def load_model(path: str | Path, model: type[Model]) -> Model:
    """Read a YAML file and validate it as ``model``; any problem raises :class:`ConfigError`."""
    data, node = read_yaml(path)
    return validate(path, data, node, model)


def validate(path: str | Path, data: Any, node: yaml.Node | None, model: type[Model]) -> Model:
    """Validate parsed YAML ``data`` as ``model``; ``node`` supplies line numbers for errors."""
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigError(path, f"the top level must be a mapping, found {found}", line=1)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(path, node, model, error) from None


def validation_error(
    path: str | Path, node: yaml.Node | None, model: type[BaseModel], error: ValidationError,
) -> ConfigError:
    """Translate the first pydantic error into a ConfigError with line and dotted field."""
    errors = error.errors(include_url=False)
    # An unknown key explains a "missing" one beside it (a typo), so it is reported first.
    first = min(errors, key=lambda e: e["type"] != "extra_forbidden")
    loc: Loc = tuple(first["loc"])
    fields, target = locate(node, loc)
    field = dotted(fields)
    kind = first["type"]
    value = first.get("input")
    ctx = first.get("ctx") or {}
    line = None if target is None else target.start_mark.line + 1
    if kind == "extra_forbidden":
        allowed = ", ".join(_model_fields(model, loc[:-1]))
        return ConfigError(path, "unknown field", line=line, field=field, allowed=allowed)
    if kind == "out_of_range":
        return ConfigError(path, f"got {ctx.get('value')}", line=line, field=field,
                           allowed=str(ctx.get("allowed", "")))
    if kind == "missing":
        return ConfigError(path, "required field is missing", line=line, field=field)
    if kind == "union_tag_invalid":
        return ConfigError(
            path, f"unknown value {ctx.get('tag')!r}", line=line,
            field=dotted(fields + (ctx.get("discriminator", "").strip("'"),)),
            allowed=_plain_list(ctx.get("expected_tags", "")),
        )
    if kind == "union_tag_not_found":
        tag = ctx.get("discriminator", "").strip("'")
        return ConfigError(path, "required field is missing", line=line,
                           field=dotted(fields + (tag,)))
    if kind == "literal_error" or kind == "enum":
        return ConfigError(
            path, f"got {value!r}", line=line, field=field,
            allowed=_plain_list(ctx.get("expected", "")),
        )
    bound = {
        "greater_than": ("> ", "gt"), "greater_than_equal": (">= ", "ge"),
        "less_than": ("< ", "lt"), "less_than_equal": ("<= ", "le"),
    }.get(kind)
    if bound is not None:
        symbol, key = bound
        return ConfigError(path, f"got {value!r}", line=line, field=field,
                           allowed=f"{symbol}{ctx.get(key)}")
    message = first["msg"]
    if kind == "bool_type" or kind == "bool_parsing":
        return ConfigError(path, f"got {value!r}", line=line, field=field, allowed="true, false")
    if kind == "value_error":
        message = str(ctx.get("error", message))
        return ConfigError(path, message, line=line, field=field)
    return ConfigError(path, f"{_lower_first(message)}, got {value!r}", line=line, field=field)


def locate(node: yaml.Node | None, loc: Loc) -> tuple[Loc, yaml.Node | None]:
    """Follow ``loc`` through the YAML nodes; return the user-facing path and the deepest node.

    Pydantic puts the tag of a discriminated union into ``loc`` (``layers.3.conv2d.kernel``);
    such steps are not keys in the file and are dropped from the path.
    """
    fields: list[int | str] = []
    current = node
    for step in loc:
        if isinstance(current, yaml.MappingNode) and isinstance(step, str):
            match = next(((k, v) for k, v in current.value if k.value == step), None)
            if match is None:
                if _is_tag_value(current, step):
                    continue
                fields.append(step)
                continue  # a missing key: stay on the mapping that lacks it
            fields.append(step)
            current = match[1]
        elif isinstance(current, yaml.SequenceNode) and isinstance(step, int):
            fields.append(step)
            if 0 <= step < len(current.value):
                current = current.value[step]
        elif isinstance(step, str) and isinstance(current, yaml.ScalarNode | yaml.SequenceNode):
            continue  # a union member's label (e.g. "constrained-int"), not a key in the file
        else:
            fields.append(step)
    return tuple(fields), current


def error_at(
    path: str | Path, node: yaml.Node | None, loc: Loc, message: str, allowed: str = "",
) -> ConfigError:
    """A ConfigError for the field at ``loc`` (a pydantic-style location) of a parsed file."""
    fields, target = locate(node, loc)
    line = None if target is None else target.start_mark.line + 1
    return ConfigError(path, message, line=line, field=dotted(fields), allowed=allowed)


def _is_tag_value(mapping: yaml.MappingNode, step: str) -> bool:
    return any(
        isinstance(value, yaml.ScalarNode) and value.value == step for _, value in mapping.value
    )


def dotted(fields: Loc) -> str:
    text = ""
    for step in fields:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step:
            text += f".{step}" if text else step
    return text or "(top level)"


def _model_fields(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` (through lists, dicts and tagged unions)."""
    annotation: Any = model
    for step in loc:
        annotation = _step_annotation(annotation, step)
        if annotation is None:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _step_annotation(annotation: Any, step: int | str) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(step, str) and step in annotation.model_fields:
            return annotation.model_fields[step].annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple) and isinstance(step, int) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    if origin in (typing.Union, types.UnionType) and isinstance(step, str):
        for member in args:
            member = _unwrap(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                tag_field = member.model_fields.get("kind")
                if tag_field is not None and step in typing.get_args(tag_field.annotation):
                    return member
    return None


def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated[...]`` and ``X | None`` wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _plain_list(text: str) -> str:
    return str(text).replace("'", "").replace(" or ", ", ")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
