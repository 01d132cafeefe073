from django.urls import path

from extraction import views

app_name = "extraction"
urlpatterns = [
    path("extraction/", views.overview, name="overview"),
    path("extraction/settings/", views.settings_view, name="settings"),
    path("extraction/templates/", views.template_list, name="templates"),
    path("extraction/templates/new/", views.template_create, name="template_create"),
    path("extraction/templates/<int:pk>/", views.template_detail, name="template"),
    path("extraction/studies/<int:pk>/start/", views.start, name="start"),
    path("extraction/studies/<int:pk>/compare/", views.compare, name="compare"),
    path("extraction/studies/<int:pk>/consensus/", views.start_consensus, name="start_consensus"),
    path("extraction/studies/<int:pk>/take/", views.take, name="take"),
    path("extraction/studies/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("extraction/<int:pk>/", views.extract, name="extract"),
    path("extraction/<int:pk>/save/", views.save, name="save"),
    path("extraction/<int:pk>/rows/", views.rows, name="rows"),
    path("extraction/<int:pk>/complete/", views.complete, name="complete"),
    path("extraction/<int:pk>/risk-of-bias/", views.risk_of_bias, name="risk_of_bias"),
]
