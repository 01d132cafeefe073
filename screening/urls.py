from django.urls import path

from screening.views import dashboard, fulltext, history, leads, screen

app_name = "screening"
urlpatterns = [
    path("screening/", dashboard.dashboard, name="dashboard"),
    path("screening/settings/", leads.settings_view, name="settings"),
    path("screening/<str:stage>/stopping/", leads.stopping, name="stopping"),
    path("screening/reorder/", leads.rerank, name="rerank"),
    path("screen/<str:stage>/", screen.screen, name="screen"),
    path("screen/<str:stage>/undo/", screen.undo, name="undo"),
    path("screen/<str:stage>/mine/", screen.my_decisions, name="mine"),
    path("screen/<str:stage>/<id:record_id>/", screen.screen, name="screen_record"),
    path("screen/<str:stage>/<id:record_id>/decide/", screen.decide, name="decide"),
    path("records/<str:stage>/", leads.status_list, name="status_list"),
    path("records/<str:stage>/<id:record_id>/resolve/", leads.resolve, name="resolve"),
    path(
        "records/<str:stage>/<id:record_id>/add-reviewer/", leads.add_reviewer, name="add_reviewer"
    ),
    path("records/<str:stage>/<id:record_id>/withdraw/", leads.withdraw, name="withdraw"),
    path("records/<id:record_id>/screening-history/", history.record_history, name="history"),
    path("fulltext/<id:record_id>/", fulltext.upload, name="fulltext_upload"),
    path("fulltext/<id:record_id>/pdf/", fulltext.pdf, name="fulltext_pdf"),
]
