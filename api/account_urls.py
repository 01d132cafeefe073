from django.urls import path

from api import account_views as account

app_name = "api_tokens"
urlpatterns = [
    path("", account.token_list, name="list"),
    path("<id:pk>/revoke/", account.token_revoke, name="revoke"),
]
