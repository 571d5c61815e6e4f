"""First outcomes of POSTs carrying an Idempotency-Key."""

from __future__ import annotations

from django.db import models

from .accounts import Workspace
from .generations import Generation


class IdempotencyRecord(models.Model):
    """First outcome of a POST carrying an ``Idempotency-Key``, kept 24 hours."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="uniq_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key
