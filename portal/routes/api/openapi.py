"""Makes the served OpenAPI schema say everything the server enforces on the
API's request bodies, taken from the msgspec Structs themselves (the source
of truth), where Litestar's generator leaves it out:

- ``additionalProperties: false`` for Structs that forbid unknown fields;
- number limits and text patterns of fields wrapped in ``| None`` or
  ``| UnsetType`` (Litestar drops ``minimum: 0`` and puts limits beside the
  ``oneOf`` instead of on the number);
- the input guard's rules (portal/web/input_guard.py): no control characters
  in any text of a request body or query, integers within PostgreSQL's range.
"""

from __future__ import annotations

from typing import Iterator

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPI, OpenAPIType, Schema

from portal.routes.api import schemas
from portal.core import params

QUERY_TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*$"

_LIMITS = {"ge": "minimum", "le": "maximum", "gt": "exclusive_minimum", "lt": "exclusive_maximum",
           "pattern": "pattern", "min_length": "min_length", "max_length": "max_length"}


def _request_structs() -> Iterator[type[msgspec.Struct]]:
    for value in vars(schemas).values():
        if isinstance(value, type) and issubclass(value, msgspec.Struct) and value.__module__ == schemas.__name__:
            yield value


def _constrained(info) -> msgspec.inspect.Type | None:
    """The int or str type (with its limits) inside a field's type."""
    if isinstance(info, msgspec.inspect.Metadata):
        return _constrained(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        found = [t for t in map(_constrained, info.types) if t is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(info, (msgspec.inspect.IntType, msgspec.inspect.StrType)):
        return info
    return None


def _target(prop: Schema) -> Schema:
    """The member of a ``oneOf`` that is not ``null``, or the schema itself."""
    for member in prop.one_of or ():
        if isinstance(member, Schema) and member.type not in (None, OpenAPIType.NULL):
            return member
    return prop


def _first(*values):
    return next(v for v in values if v is not None)


def complete(openapi: OpenAPI) -> None:
    components = openapi.components.schemas or {}
    for struct in _request_structs():
        component = components.get(struct.__name__)
        if component is None:
            continue
        if struct.__struct_config__.forbid_unknown_fields:
            component.additional_properties = False
        for field in msgspec.inspect.type_info(struct).fields:
            prop = (component.properties or {}).get(field.encode_name)
            info = _constrained(field.type)
            if not isinstance(prop, Schema) or info is None:
                continue
            target = _target(prop)
            is_input = struct.__struct_config__.forbid_unknown_fields
            if is_input and isinstance(info, msgspec.inspect.StrType) and info.pattern is None:
                target.pattern = params.TEXT_PATTERN
            for attr, key in _LIMITS.items():
                value = getattr(info, attr, None)
                if value is not None:
                    setattr(target, key, value)
                    if target is not prop:
                        setattr(prop, key, None)


def _complete_parameters(openapi: OpenAPI) -> None:
    for item in (openapi.paths or {}).values():
        for operation in (item.get, item.put, item.post, item.patch, item.delete):
            for parameter in (operation.parameters or []) if operation else []:
                if parameter.param_in not in ("query", "path") or not isinstance(parameter.schema, Schema):
                    continue
                target = _target(parameter.schema)
                if parameter.param_in == "path":  # ids: anything else is a 404
                    if target.type == OpenAPIType.INTEGER:
                        target.minimum, target.maximum = 1, params.INT4_MAX
                    continue
                if target.type == OpenAPIType.STRING and not target.enum and not target.pattern:
                    target.pattern = QUERY_TEXT_PATTERN
                elif target.type == OpenAPIType.INTEGER:
                    # Litestar may leave the limits beside a ``oneOf``: move them onto the integer.
                    outer = parameter.schema
                    target.minimum = max(_first(target.minimum, outer.minimum, params.INT4_MIN), params.INT4_MIN)
                    target.maximum = min(_first(target.maximum, outer.maximum, params.INT4_MAX), params.INT4_MAX)
                    if target is not outer:
                        outer.minimum = outer.maximum = None


def complete_app_schema(app: Litestar) -> None:
    """Called once by ``create_app``, before the schema is first served."""
    openapi = app.openapi_schema
    complete(openapi)
    _complete_parameters(openapi)
