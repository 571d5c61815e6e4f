from django.urls import path

from . import apis

app_name = "budgets"

urlpatterns = [
    path("budgets", apis.BudgetListCreateApi.as_view(), name="list-create"),
    path("budgets/<int:budget_id>", apis.BudgetDetailApi.as_view(), name="detail"),
    path("spend", apis.SpendApi.as_view(), name="spend"),
]
