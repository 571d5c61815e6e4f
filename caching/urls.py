from django.urls import path

from . import apis

app_name = "caching"

urlpatterns = [
    path("cache/stats", apis.CacheStatsApi.as_view(), name="stats"),
    path("cache/slots", apis.CacheSlotApi.as_view(), name="slots"),
]
