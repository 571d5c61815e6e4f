"""``instance_copy`` is ``copy.copy`` of a model instance, without the pickle round."""

from __future__ import annotations

import copy

import pytest

from generations import compiled
from generations.compiled import instance_copy
from generations.models import Workspace

pytestmark = pytest.mark.django_db

PICKLE_STAMP = "_django_version"  # copy.copy's instance carries it; nothing reads it


def _with_provider(workspace: Workspace, sandbox) -> Workspace:
    workspace.default_provider = sandbox
    workspace.save()
    return Workspace.objects.select_related("default_provider").get(id=workspace.id)


def test_a_copy_is_what_copy_copy_gives(workspace, sandbox):
    original = _with_provider(workspace, sandbox)
    ours, theirs = instance_copy(original), copy.copy(original)
    assert type(ours) is Workspace and ours is not original
    expected = {k: v for k, v in vars(theirs).items() if k not in ("_state", PICKLE_STAMP)}
    assert {k: v for k, v in vars(ours).items() if k != "_state"} == expected
    assert vars(ours._state) == vars(theirs._state)
    assert ours.default_provider is original.default_provider  # related objects are shared
    assert ours._state is not original._state
    assert ours._state.fields_cache is not original._state.fields_cache


def test_a_change_to_the_copy_stays_in_the_copy(workspace, sandbox):
    original = _with_provider(workspace, sandbox)
    copied = instance_copy(original)
    copied.name = "Changed"
    copied.default_provider = None
    copied._state.adding = True
    assert original.name == "Studio" and original.default_provider == sandbox
    assert original._state.adding is False
    copied._state.adding = False
    copied.save()  # an UPDATE of the same row
    assert Workspace.objects.get(id=workspace.id).name == "Changed"
    assert Workspace.objects.count() == 1


def test_a_copy_of_an_instance_without_related_objects_has_an_empty_cache(workspace):
    fresh = Workspace.objects.get(id=workspace.id)
    assert "fields_cache" not in vars(fresh._state)
    copied = instance_copy(fresh)
    assert copied._state.fields_cache == {} and "fields_cache" not in vars(fresh._state)


def test_a_model_that_changes_its_pickling_is_copied_by_copy_copy(monkeypatch, workspace):
    calls = []
    plain = Workspace.__getstate__

    def getstate(self):  # type: ignore[no-untyped-def]
        calls.append(self)
        return plain(self)

    monkeypatch.setattr(Workspace, "__getstate__", getstate)
    compiled._copied_plainly.cache_clear()
    try:
        copied = instance_copy(workspace)
    finally:
        monkeypatch.undo()
        compiled._copied_plainly.cache_clear()
    assert calls == [workspace]
    assert copied.id == workspace.id and PICKLE_STAMP in vars(copied)
