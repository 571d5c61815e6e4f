"""The create serializer's validation without DRF's per-field machinery, for the bodies it
fully recognises: the same validated data, or a refusal to answer.

``GenerationCreateSerializer`` checks some sixty fields; through DRF each is a
``run_validation`` (empty-value handling, ``to_internal_value``, then a list of Django
validators, each a few calls deep), and that is most of a cold create's validation time.
``create_validated`` runs a plan compiled once per process from the serializer's own bound
field tree, reading every rule from the fields themselves (required, default, allow_null,
allow_blank, trim_whitespace, lengths, ranges, choices, unknown keys), and checks them
with plain Python for the field types it knows exactly: ``CharField``, ``IntegerField``,
``FloatField``, ``BooleanField``, ``ChoiceField``, ``ListField`` of those, and the nested
strict serializers (``StyleSerializer``'s provider blocks included). A field of any other
type (URLs, UUIDs, datetimes, the free-form maps), or a known type with a validator or an
option the plan does not model, is validated by the field's own ``run_validation``, the very
call the serializer makes; so are the serializer's ``validate_<field>`` methods.

The plan accepts only values it takes as they are (a JSON string where a string is
expected, an integer where an integer is, ``true``/``false`` where a boolean is) and
answers exactly what ``serializer.validated_data`` would: the same keys in the same order,
the same types, the same defaults. Anything else (every invalid value, and the values DRF
would coerce: ``"5"`` for an integer, ``1`` for a boolean, ``5`` for a string) makes it
decline (``None``), and the serializer validates the body as before, so every error and
its message are DRF's. ``tests/generations/test_serializers_fast.py`` runs both on a large,
varied set of bodies and requires the same answer or a refusal.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

Check = Callable[[Any], Any]

_MISSING = object()
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Decline(Exception):
    """The plan does not answer for this body: the serializer validates it."""


class _Unsupported(Exception):
    """A field the plan cannot model: it is validated by its own ``run_validation``."""


@dataclass(frozen=True)
class _Slot:
    """One field of a serializer, as its parent's ``to_internal_value`` treats it."""

    name: str
    check: Check | None  # None: the field's own run_validation (``field``)
    field: Any
    required: bool
    default: Any  # ``empty``: skipped when absent
    allow_null: bool
    validate: Callable[[Any], Any] | None  # the parent's ``validate_<name>``


def _limits(field: Any, kinds: dict[type, str]) -> None:
    """Refuse a field whose validators are not among ``kinds`` (validator class -> the
    field attribute its limit must equal, or ``""``), each at most once. A validator of
    ``kinds`` that is missing only makes the plan stricter than the field (it declines
    more), never more lenient."""
    seen: set[type] = set()
    for validator in field.validators:
        kind = type(validator)
        if kind not in kinds or kind in seen:
            raise _Unsupported(f"{kind.__name__} on {field!r}")
        seen.add(kind)
        attribute = kinds[kind]
        if attribute:
            limit = getattr(validator, "limit_value", None)
            if callable(limit) or limit != getattr(field, attribute):
                raise _Unsupported(f"{kind.__name__}'s limit on {field!r}")


_CHAR_VALIDATORS: dict[type, str] = {
    MaxLengthValidator: "max_length",
    MinLengthValidator: "min_length",
    ProhibitNullCharactersValidator: "",
    ProhibitSurrogateCharactersValidator: "",
}
_NUMBER_VALIDATORS: dict[type, str] = {
    MaxValueValidator: "max_value",
    MinValueValidator: "min_value",
}
_LIST_VALIDATORS: dict[type, str] = {
    MaxLengthValidator: "max_length",
    MinLengthValidator: "min_length",
}


def _char(field: Any) -> Check:
    _limits(field, _CHAR_VALIDATORS)
    allow_blank, trim = field.allow_blank, field.trim_whitespace
    longest, shortest = field.max_length, field.min_length

    def check(value: Any) -> str:
        if type(value) is not str:
            raise _Decline
        text = value.strip() if trim else value
        if not text:  # CharField.run_validation's blank test ("" or, trimmed, only spaces)
            if allow_blank:
                return ""
            raise _Decline
        size = len(text)
        if longest is not None and size > longest:
            raise _Decline
        if shortest is not None and size < shortest:
            raise _Decline
        if "\x00" in text or (not text.isascii() and _SURROGATE.search(text)):
            raise _Decline
        return text

    return check


def _bounds(field: Any) -> tuple[Any, Any]:
    _limits(field, _NUMBER_VALIDATORS)
    high, low = field.max_value, field.min_value
    for limit in (high, low):
        if limit is not None and type(limit) not in (int, float):
            raise _Unsupported(f"a limit of {field!r}")
    return high, low


def _integer(field: Any) -> Check:
    high, low = _bounds(field)
    if high is None or low is None:  # unbounded: DRF's str() may refuse a huge integer
        raise _Unsupported(f"an unbounded {field!r}")

    def check(value: Any) -> int:
        if type(value) is not int or value > high or value < low:
            raise _Decline
        return value

    return check


def _float(field: Any) -> Check:
    high, low = _bounds(field)

    def check(value: Any) -> float:
        kind = type(value)
        if kind is float:
            number = value
        elif kind is int:
            try:
                number = float(value)
            except OverflowError:
                raise _Decline from None
        else:
            raise _Decline
        if not math.isfinite(number):
            raise _Decline
        if high is not None and number > high:
            raise _Decline
        if low is not None and number < low:
            raise _Decline
        return number

    return check


def _boolean(field: Any) -> Check:
    _limits(field, {})

    def check(value: Any) -> bool:
        if value is True or value is False:
            return value
        raise _Decline

    return check


def _choice(field: Any) -> Check:
    _limits(field, {})
    table = dict(field.choice_strings_to_values)
    allow_blank = field.allow_blank

    def check(value: Any) -> Any:
        if type(value) is not str:
            raise _Decline
        if value == "" and allow_blank:
            return ""
        try:
            return table[value]
        except KeyError:
            raise _Decline from None

    return check


def _child(field: Any) -> Check:
    """A list's item: never absent; ``None`` only where the child allows it."""
    leaf = _leaf(field)
    if leaf is None:
        raise _Unsupported(f"the child {field!r}")
    allow_null = field.allow_null

    def check(value: Any) -> Any:
        if value is None:
            if allow_null:
                return None
            raise _Decline
        return leaf(value)

    return check


def _list(field: Any) -> Check:
    _limits(field, _LIST_VALIDATORS)
    item = _child(field.child)
    allow_empty, longest, shortest = field.allow_empty, field.max_length, field.min_length

    def check(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _Decline
        size = len(value)
        if (not allow_empty and not size) or (longest is not None and size > longest):
            raise _Decline
        if shortest is not None and size < shortest:
            raise _Decline
        return [item(entry) for entry in value]

    return check


_LEAVES: dict[type, Callable[[Any], Check]] = {
    drf_fields.CharField: _char,
    drf_fields.IntegerField: _integer,
    drf_fields.FloatField: _float,
    drf_fields.BooleanField: _boolean,
    drf_fields.ChoiceField: _choice,
    drf_fields.ListField: _list,
}


def _leaf(field: Any) -> Check | None:
    build = _LEAVES.get(type(field))  # exactly these classes: a subclass may differ
    return None if build is None else build(field)


def _slots(serializer: Any, path: str, delegated: list[str]) -> list[_Slot]:
    slots = []
    for name, field in serializer.fields.items():
        dotted = f"{path}.{name}" if path else name
        if field.read_only or field.source_attrs != [name] or field.source == "*":
            raise _Unsupported(f"{name}: not a plain writable field")
        try:
            if isinstance(field, serializers.BaseSerializer):
                check: Check | None = _nested(field, dotted, delegated)
            else:
                check = _leaf(field)
            if check is not None and field.default is not empty and callable(field.default):
                raise _Unsupported(f"{name}: a callable default")
        except _Unsupported:
            check = None
        if check is None:
            delegated.append(dotted)
        method = getattr(serializer, "validate_" + name, None)
        slots.append(
            _Slot(
                name=name,
                check=check,
                field=field,
                required=field.required,
                default=field.default,
                allow_null=field.allow_null,
                validate=method,
            )
        )
    return slots


def _object(serializer: Any, path: str, delegated: list[str], *, top: bool = False) -> Check:
    """A strict serializer's ``to_internal_value`` (``StrictSerializer``, and the provider
    blocks of ``StyleSerializer``) over its slots; below the top, its ``run_validation``
    too (which adds nothing without serializer-level validators)."""
    from .serializers import StrictSerializer, StyleSerializer

    kind = type(serializer)
    style = kind.to_internal_value is StyleSerializer.to_internal_value
    if not style and kind.to_internal_value is not StrictSerializer.to_internal_value:
        raise _Unsupported(f"{kind.__name__}.to_internal_value")
    if kind.validate is not serializers.Serializer.validate or serializer.validators:
        raise _Unsupported(f"{kind.__name__}: serializer-level validation")
    if not top and kind.run_validation is not serializers.Serializer.run_validation:
        raise _Unsupported(f"{kind.__name__}.run_validation")
    if serializer.allow_extra != style:  # only the provider blocks are open-ended
        raise _Unsupported(f"{kind.__name__}: extra keys")
    slots = _slots(serializer, path, delegated)
    known = frozenset(serializer.fields)

    def check(data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise _Decline
        if not style and not known.issuperset(data):
            raise _Decline  # an unknown key
        out: dict[str, Any] = {}
        for slot in slots:
            name = slot.name
            if slot.check is None:
                try:
                    value = slot.field.run_validation(slot.field.get_value(data))
                except SkipField:
                    continue
                except (ValidationError, DjangoValidationError):
                    raise _Decline from None
            else:
                value = data.get(name, _MISSING)
                if value is _MISSING:
                    if slot.required:
                        raise _Decline
                    if slot.default is empty:
                        continue
                    value = slot.default
                elif value is None:
                    if not slot.allow_null:
                        raise _Decline
                else:
                    value = slot.check(value)
            if slot.validate is not None:
                try:
                    value = slot.validate(value)
                except (ValidationError, DjangoValidationError):
                    raise _Decline from None
            out[name] = value
        if style:
            extras = {k: v for k, v in data.items() if k not in known}
            if len(extras) > 8:
                raise _Decline
            for block in extras.values():
                if not isinstance(block, dict) or len(block) > 32:
                    raise _Decline
            out.update(extras)
        return out

    return check


def _nested(field: Any, path: str, delegated: list[str]) -> Check:
    if isinstance(field, serializers.ListSerializer) or not isinstance(
        field, serializers.Serializer
    ):
        raise _Unsupported(f"{field!r}")
    inner: list[str] = []  # kept only if the whole serializer is planned
    check = _object(field, path, inner)
    delegated.extend(inner)
    return check


@dataclass(frozen=True)
class _Plan:
    check: Check | None  # None: the serializer itself could not be planned
    delegated: list[str]


_plan: list[_Plan] = []
_lock = threading.Lock()


def _compiled() -> _Plan:
    if _plan:
        return _plan[0]
    from .serializers import GenerationCreateSerializer

    delegated: list[str] = []
    try:
        plan = _Plan(_object(GenerationCreateSerializer(), "", delegated, top=True), delegated)
    except _Unsupported:
        plan = _Plan(None, [])
    with _lock:
        if not _plan:
            _plan.append(plan)
    return _plan[0]


def delegated_fields() -> list[str]:
    """The dotted names of the fields the plan leaves to their own ``run_validation``."""
    return list(_compiled().delegated)


def create_validated(data: Any) -> dict[str, Any] | None:
    """What ``GenerationCreateSerializer(data=data).validated_data`` would be, or ``None``
    when the plan declines (a body it does not fully recognise, or an invalid one: the
    serializer then validates it, errors included). Never changes ``data``."""
    plan = _compiled().check
    if plan is None:
        return None
    try:
        return plan(data)  # type: ignore[no-any-return]
    except _Decline:
        return None
