from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path

from reviewmgr.views import (
    accounts,
    audit,
    duplicates,
    imports,
    members,
    records,
    reviews,
    studies,
)


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@login_not_required
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers and feed readers ask for /favicon.ico whatever the page links; the icon is a
    static file, whose name changes with its content, so the way there is cached for a day."""
    response = HttpResponseRedirect(static("reviewmgr/favicon.svg"))
    response["Cache-Control"] = "max-age=86400"
    return response


review_patterns = [
    path("", reviews.review_detail, name="review_detail"),
    path("settings/", reviews.review_edit, name="review_edit"),
    path("members/", members.member_list, name="member_list"),
    path("members/<id:pk>/roles/", members.member_update, name="member_update"),
    path("members/<id:pk>/remove/", members.member_remove, name="member_remove"),
    path("records/<id:pk>/", records.record_detail, name="record_detail"),
    path("records/<id:pk>/correct/", records.record_correct, name="record_correct"),
    path(
        "records/<id:pk>/known-relevant/",
        records.record_known_relevant,
        name="record_known_relevant",
    ),
    path("records/<id:pk>/link/", studies.report_link, name="report_link"),
    path("records/<id:pk>/unlink/", studies.report_unlink, name="report_unlink"),
    path("imports/", imports.batch_list, name="batch_list"),
    path("imports/new/", imports.batch_upload, name="batch_upload"),
    path("imports/<id:pk>/", imports.batch_detail, name="batch_detail"),
    path("imports/<id:pk>/columns/", imports.batch_map, name="batch_map"),
    path("imports/<id:pk>/retry/", imports.batch_retry, name="batch_retry"),
    path("imports/<id:pk>/version/", imports.batch_version, name="batch_version"),
    path("imports/<id:pk>/delete/", imports.batch_delete, name="batch_delete"),
    path("duplicates/", duplicates.duplicate_list, name="duplicate_list"),
    path("duplicates/<id:pk>/", duplicates.duplicate_detail, name="duplicate_detail"),
    path("duplicates/<id:pk>/decide/", duplicates.duplicate_decide, name="duplicate_decide"),
    path("audit/", audit.audit_log, name="audit_log"),
]
core_patterns = [
    path("", reviews.review_list, name="review_list"),
    path("reviews/new/", reviews.review_create, name="review_create"),
    path("reviews/<slug:slug>/", include(review_patterns)),
]
# Asking for a reset link is this project's own (it knows when no mail can be sent); the rest of
# the log-in pages are Django's, found after it.
account_patterns = [
    path("password_reset/", accounts.password_reset, name="password_reset"),
    path("password_reset/done/", accounts.password_reset_done, name="password_reset_done"),
]
# Screening's pages live under each review's address, in their own namespace.
screening_patterns = [path("reviews/<slug:slug>/", include("screening.urls"))]
extraction_patterns = [path("reviews/<slug:slug>/", include("extraction.urls"))]

handler404 = "reviewmgr.errors.page_not_found"
handler500 = "reviewmgr.errors.server_error"

urlpatterns = [
    path("", include((core_patterns, "reviewmgr"))),
    *screening_patterns,
    *extraction_patterns,
    path("accounts/tokens/", include("api.account_urls")),
    path("accounts/", include(account_patterns)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
]
