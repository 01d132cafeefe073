from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from reviewmgr.views import audit, duplicates, imports, members, records, reviews, studies


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


review_patterns = [
    path("", reviews.review_detail, name="review_detail"),
    path("settings/", reviews.review_edit, name="review_edit"),
    path("members/", members.member_list, name="member_list"),
    path("members/<int:pk>/roles/", members.member_update, name="member_update"),
    path("members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("records/<int:pk>/", records.record_detail, name="record_detail"),
    path("records/<int:pk>/correct/", records.record_correct, name="record_correct"),
    path(
        "records/<int:pk>/known-relevant/",
        records.record_known_relevant,
        name="record_known_relevant",
    ),
    path("records/<int:pk>/link/", studies.report_link, name="report_link"),
    path("records/<int:pk>/unlink/", studies.report_unlink, name="report_unlink"),
    path("imports/", imports.batch_list, name="batch_list"),
    path("imports/new/", imports.batch_upload, name="batch_upload"),
    path("imports/<int:pk>/", imports.batch_detail, name="batch_detail"),
    path("imports/<int:pk>/columns/", imports.batch_map, name="batch_map"),
    path("imports/<int:pk>/retry/", imports.batch_retry, name="batch_retry"),
    path("imports/<int:pk>/version/", imports.batch_version, name="batch_version"),
    path("imports/<int:pk>/delete/", imports.batch_delete, name="batch_delete"),
    path("duplicates/", duplicates.duplicate_list, name="duplicate_list"),
    path("duplicates/<int:pk>/", duplicates.duplicate_detail, name="duplicate_detail"),
    path("duplicates/<int:pk>/decide/", duplicates.duplicate_decide, name="duplicate_decide"),
    path("audit/", audit.audit_log, name="audit_log"),
]
core_patterns = [
    path("", reviews.review_list, name="review_list"),
    path("reviews/new/", reviews.review_create, name="review_create"),
    path("reviews/<slug:slug>/", include(review_patterns)),
]
# Screening's pages live under each review's address, in their own namespace.
screening_patterns = [path("reviews/<slug:slug>/", include("screening.urls"))]
extraction_patterns = [path("reviews/<slug:slug>/", include("extraction.urls"))]

handler500 = "reviewmgr.errors.server_error"

urlpatterns = [
    path("", include((core_patterns, "reviewmgr"))),
    *screening_patterns,
    *extraction_patterns,
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
