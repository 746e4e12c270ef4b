"""A contract's `schema.dump`, compiled once into plain Python for bulk producers.

marshmallow walks its field machinery for every value; a 100,000-bill run dumps ~4 million
values. The compiled dumper calls each field's own `_serialize` (so every format is the field's)
and skips the machinery. Schemas it cannot reproduce exactly (dump hooks, dump defaults,
dotted attributes, fields that read the whole object) use marshmallow's dump unchanged.
`tests/test_dumper.py` checks it against `schema.dump` for every contract example.
"""
from functools import lru_cache
from typing import Callable

from marshmallow import Schema, fields, missing

from cis_contracts.registry import get

Dumper = Callable[[dict], dict]
_READS_WHOLE_OBJECT = (fields.Method, fields.Function, fields.Pluck)


class _CannotCompile(Exception):
    pass


@lru_cache(maxsize=None)
def dumper(message_name: str) -> Dumper:
    """The dump function of the named contract's schema (equal to `schema.dump(payload)`)."""
    schema = get(message_name).schema()
    try:
        return _compile(schema)
    except _CannotCompile:
        return schema.dump


def _compile(schema: Schema) -> Dumper:
    if any(schema._hooks[hook] for hook in ("pre_dump", "post_dump")):
        raise _CannotCompile
    steps = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        if field.dump_default is not missing or "." in attribute or isinstance(field, _READS_WHOLE_OBJECT):
            raise _CannotCompile
        steps.append((attribute, field.data_key or name, _converter(field)))

    def dump(payload: dict) -> dict:
        dumped = {}
        for attribute, key, convert in steps:
            value = payload.get(attribute, missing)
            if value is not missing:
                dumped[key] = convert(value)
        return dumped
    return dump


def _converter(field: fields.Field) -> Callable:
    if isinstance(field, fields.Nested):
        inner = _compile(field.schema)
        if field.many:
            return lambda value: None if value is None else [inner(item) for item in value]
        return lambda value: None if value is None else inner(value)
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and not field.inner.many:
        inner = _compile(field.inner.schema)
        return lambda value: None if value is None else [inner(item) for item in value]
    if type(field) is fields.String:
        return lambda value: None if value is None else str(value)
    serialize = field._serialize
    return lambda value: serialize(value, None, None)
