"""A create request's body read and validated once per distinct body, not once per request.

Reading a structured create (JSON parsing with the input checks of ``parsers``, the
legacy-payload refusal, the camelCase renaming, ``GenerationCreateSerializer``) is a pure
function of the request's content type and bytes, and costs more than the dedup lookup
that answers a repeat. Repeats are the common case (a game asks again for the scene it
asked for before: every dedup or cache hit is one), so the outcome of a body that
validated is kept per process (the ``MEMO_ENTRIES`` most recently used bodies of at most
``MEMO_MAX_BYTES`` each) and handed back as a fresh copy (unpickled: callers may change
it). A body that fails is not kept: its errors are built again each time, the same ones.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.request import Request

MEMO_ENTRIES = 512
MEMO_MAX_BYTES = 16_384

Read = tuple[dict[str, Any], dict[str, Any]]  # (the body as renamed, the validated data)


class CreateInput(NamedTuple):
    body: dict[str, Any]  # as renamed
    data: dict[str, Any]  # validated
    remembered: bool  # an earlier request of this process sent the same body


_memo: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
_lock = threading.Lock()


def _key(request: Request) -> tuple[str, bytes] | None:
    content_type = str(request.META.get("CONTENT_TYPE") or "")
    if not content_type.startswith("application/json"):
        return None
    raw = request._request.body  # read once; DRF parses the same bytes afterwards
    if len(raw) > MEMO_MAX_BYTES:
        return None
    return content_type, raw


def create_input_read(request: Request, read: Callable[[], Read]) -> CreateInput:
    """``read()``'s answer for this request's body: remembered from an earlier request
    with the same content type and bytes, or computed (and remembered when it returns;
    what it raises goes to the caller, as without the memo); ``remembered`` says which."""
    key = _key(request)
    if key is None:
        return CreateInput(*read(), remembered=False)
    with _lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
    if found is not None:
        body, data = pickle.loads(found)
        return CreateInput(body, data, remembered=True)
    body, data = read()
    kept = pickle.dumps((body, data), protocol=pickle.HIGHEST_PROTOCOL)
    with _lock:
        _memo[key] = kept
        while len(_memo) > MEMO_ENTRIES:
            _memo.popitem(last=False)
    return CreateInput(body, data, remembered=False)


@receiver(setting_changed)
def create_input_forget(**_: Any) -> None:
    """Forget every remembered body (any signature: also a ``setting_changed`` receiver,
    so a test's settings never meet a body validated under others)."""
    with _lock:
        _memo.clear()
