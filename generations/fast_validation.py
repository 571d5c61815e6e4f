"""A request body checked without DRF's per-field machinery, for the bodies it accepts.

DRF validates a create body field by field through several method layers per field
(``run_validation``, ``validate_empty_values``, ``to_internal_value``, ``run_validators``,
error collection): about 190 µs for a new create body, which every Redis-slot hit and cold
create pays. ``fast_validated`` runs a checker compiled once per serializer class from its
(shared) field tree: plain checks for the field types a create body is made of (strings,
choices, integers, floats, booleans, lists of them, nested ``StrictSerializer``s) and, for
every other field, that field's own ``run_validation``.

It answers the validated data DRF would answer, or ``None`` as soon as anything is not
what it accepts outright (a value DRF would reject, a coercion such as ``"5"`` for an
integer, a blank or null, an unknown key): the caller then validates with the serializer,
which writes the errors. So it never accepts a body DRF refuses, and the error envelope
is DRF's (``tests/generations/test_fast_validation.py`` compares the two on generated
bodies).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from django.core import validators as django_validators
from rest_framework import serializers
from rest_framework.fields import Field, empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from .serializers import StrictSerializer

Check = Callable[[Any], Any]


class _Doubt(Exception):
    """The value is not one the checker accepts outright: DRF decides."""


_ABSENT = object()  # the key is not in the body
_REQUIRED = object()  # absent, DRF answers "required"


def fast_validated(serializer_class: type[StrictSerializer], data: Any) -> dict[str, Any] | None:
    """``serializer_class(data=data)``'s ``validated_data`` when the compiled checker
    accepts ``data``, else ``None`` (validate with the serializer then)."""
    try:
        result: dict[str, Any] = _compiled(serializer_class)(data)
    except _Doubt:
        return None
    return result


@functools.cache
def _compiled(serializer_class: type[StrictSerializer]) -> Check:
    root = serializer_class()
    check = _serializer(root)
    if check is None:
        raise TypeError(f"{serializer_class.__name__} cannot be compiled")
    return check


def _slow(field: serializers.Field) -> Check:  # type: ignore[type-arg]
    """The field's own validation; anything it raises means DRF decides."""

    def check(data: Any) -> Any:
        try:
            return field.run_validation(data)
        except Exception as exc:  # ValidationError, or whatever DRF would raise again
            raise _Doubt from exc

    return check


def _only(field: serializers.Field, allowed: tuple[type, ...]) -> bool:  # type: ignore[type-arg]
    return all(type(v) in allowed for v in field.validators)


_LENGTHS = (django_validators.MaxLengthValidator, django_validators.MinLengthValidator)
_BOUNDS = (django_validators.MaxValueValidator, django_validators.MinValueValidator)
_TEXT = (
    *_LENGTHS,
    django_validators.ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)


def _char(field: serializers.CharField) -> Check | None:
    if not _only(field, _TEXT):
        return None
    trim, max_length, min_length = field.trim_whitespace, field.max_length, field.min_length
    allow_blank = field.allow_blank

    def check(data: Any) -> Any:
        if type(data) is not str:
            raise _Doubt
        value = data.strip() if trim else data
        if not value:  # blank: DRF answers "" without running the validators
            if not allow_blank:
                raise _Doubt
            return ""
        if max_length is not None and len(value) > max_length:
            raise _Doubt
        if min_length is not None and len(value) < min_length:
            raise _Doubt
        if "\x00" in value:
            raise _Doubt
        if not value.isascii():
            try:
                value.encode("utf-8")  # a lone surrogate does not encode
            except UnicodeEncodeError as exc:
                raise _Doubt from exc
        return value

    return check


def _choice(field: serializers.ChoiceField) -> Check | None:
    if field.validators:
        return None
    choices = dict(field.choice_strings_to_values)

    def check(data: Any) -> Any:
        if type(data) is not str or not data or data not in choices:
            raise _Doubt
        return choices[data]

    return check


def _within(value: float, low: float | None, high: float | None) -> None:
    """The field's ``min_value`` and ``max_value`` (either may be unset)."""
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Doubt


def _integer(field: serializers.IntegerField) -> Check | None:
    if not _only(field, _BOUNDS):
        return None
    low, high = field.min_value, field.max_value

    def check(data: Any) -> Any:
        if type(data) is not int or data.bit_length() > 63:
            raise _Doubt
        _within(data, low, high)
        return data

    return check


def _float(field: serializers.FloatField) -> Check | None:
    if not _only(field, _BOUNDS):
        return None
    low, high = field.min_value, field.max_value

    def check(data: Any) -> Any:
        if type(data) is not float and type(data) is not int:
            raise _Doubt
        try:
            value = float(data)
        except OverflowError as exc:
            raise _Doubt from exc
        if not math.isfinite(value):
            raise _Doubt
        _within(value, low, high)
        return value

    return check


def _boolean(field: serializers.BooleanField) -> Check | None:
    if field.validators:
        return None

    def check(data: Any) -> Any:
        if data is not True and data is not False:
            raise _Doubt
        return data

    return check


def _list(field: serializers.ListField) -> Check | None:
    if not _only(field, _LENGTHS):
        return None
    child = _field(field.child)
    allow_empty, max_length, min_length = field.allow_empty, field.max_length, field.min_length

    def check(data: Any) -> Any:
        if type(data) is not list:
            raise _Doubt
        size = len(data)
        if (not allow_empty and size == 0) or (max_length is not None and size > max_length):
            raise _Doubt
        if min_length is not None and size < min_length:
            raise _Doubt
        return [child(item) for item in data]

    return check


_PLAIN: dict[type, Callable[[Any], Check | None]] = {
    serializers.CharField: _char,
    serializers.ChoiceField: _choice,
    serializers.IntegerField: _integer,
    serializers.FloatField: _float,
    serializers.BooleanField: _boolean,
    serializers.ListField: _list,
}


def _field(field: serializers.Field) -> Check:  # type: ignore[type-arg]
    """The check of one field's present, non-null value."""
    if isinstance(field, StrictSerializer):
        compiled = _serializer(field)
    else:
        build = _PLAIN.get(type(field))  # exact types: a subclass may check more
        compiled = build(field) if build is not None else None
    return compiled if compiled is not None else _slow(field)


def _serializer(serializer: StrictSerializer) -> Check | None:
    """A nested or top-level strict serializer that validates nothing beyond its fields."""
    cls = type(serializer)
    if (
        serializer.allow_extra
        or cls.to_internal_value is not StrictSerializer.to_internal_value
        or cls.run_validation is not serializers.Serializer.run_validation
        or cls.validate is not serializers.Serializer.validate
        or serializer.validators
        or getattr(serializer, "partial", False)
    ):
        return None
    entries = []
    for name, field in serializer.fields.items():
        if (
            field.read_only
            or field.source != name
            or type(field).validate_empty_values is not Field.validate_empty_values
        ):
            return None
        if field.required:
            absent: Any = _REQUIRED
        elif field.default is empty:
            absent = _ABSENT
        elif callable(field.default):
            return None
        else:
            absent = field.default
        method = getattr(serializer, f"validate_{name}", None)
        entries.append((name, _field(field), absent, method, field.allow_null))
    known = frozenset(serializer.fields)

    def check(data: Any) -> Any:
        if type(data) is not dict or not known.issuperset(data):
            raise _Doubt
        out: dict[str, Any] = {}
        for name, field_check, absent, method, allow_null in entries:
            value = data.get(name, _ABSENT)
            if value is _ABSENT:
                if absent is _REQUIRED:
                    raise _Doubt
                if absent is not _ABSENT:
                    out[name] = absent
                continue
            if value is not None:
                value = field_check(value)
            elif not allow_null:
                raise _Doubt  # DRF answers "null"; a null it allows is not checked further
            if method is not None:
                try:
                    value = method(value)
                except Exception as exc:
                    raise _Doubt from exc
            out[name] = value
        return out

    return check
