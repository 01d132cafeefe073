"""The API under /api/: its schema, its docs, and one address per resource of a review."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from api import views

app_name = "api"


def open_to_tokens(view):
    """Let the request reach the API's own authentication (a token, or the session): the
    site's log-in redirect is for pages, an API answers 401 instead."""
    return login_not_required(view)


PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}
review = "reviews/<slug:slug>/"
urlpatterns = [
    # The schema and its docs are public: they describe the API, and hold no review's data.
    path("schema/", login_not_required(SpectacularAPIView.as_view(**PUBLIC)), name="schema"),
    path(
        "docs/",
        login_not_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema", **PUBLIC)),
        name="docs",
    ),
    path("reviews/", open_to_tokens(views.review_list), name="review_list"),
    path(review, open_to_tokens(views.review_detail), name="review_detail"),
    path(f"{review}records/", open_to_tokens(views.record_list), name="record_list"),
    path(f"{review}records/<id:pk>/", open_to_tokens(views.record_detail), name="record_detail"),
    path(f"{review}imports/", open_to_tokens(views.import_list), name="import_list"),
    path(f"{review}imports/<id:pk>/", open_to_tokens(views.import_detail), name="import_detail"),
    path(f"{review}decisions/", open_to_tokens(views.decision_list), name="decision_list"),
    path(
        f"{review}decisions/<id:pk>/",
        open_to_tokens(views.decision_detail),
        name="decision_detail",
    ),
    path(f"{review}conflicts/", open_to_tokens(views.conflict_list), name="conflict_list"),
    path(f"{review}records/<id:pk>/resolve/", open_to_tokens(views.resolve), name="resolve"),
    path(f"{review}studies/", open_to_tokens(views.study_list), name="study_list"),
    path(f"{review}studies/<id:pk>/", open_to_tokens(views.study_detail), name="study_detail"),
    path(f"{review}prisma/", open_to_tokens(views.prisma), name="prisma"),
    path(f"{review}exports/", open_to_tokens(views.export_list), name="export_list"),
    path(f"{review}exports/<id:pk>/", open_to_tokens(views.export_detail), name="export_detail"),
    path(
        f"{review}exports/<id:pk>/download/",
        open_to_tokens(views.export_download),
        name="export_download",
    ),
]
