from django.urls import path

from extraction import report_views, views

app_name = "extraction"
urlpatterns = [
    path("extraction/", views.overview, name="overview"),
    path("extraction/settings/", views.settings_view, name="settings"),
    path("extraction/templates/", views.template_list, name="templates"),
    path("extraction/templates/new/", views.template_create, name="template_create"),
    path("extraction/templates/<id:pk>/", views.template_detail, name="template"),
    path("extraction/studies/<id:pk>/start/", views.start, name="start"),
    path("extraction/studies/<id:pk>/compare/", views.compare, name="compare"),
    path("extraction/studies/<id:pk>/consensus/", views.start_consensus, name="start_consensus"),
    path("extraction/studies/<id:pk>/take/", views.take, name="take"),
    path("extraction/studies/<id:pk>/reopen/", views.reopen, name="reopen"),
    path("extraction/<id:pk>/", views.extract, name="extract"),
    path("extraction/<id:pk>/save/", views.save, name="save"),
    path("extraction/<id:pk>/rows/", views.rows, name="rows"),
    path("extraction/<id:pk>/complete/", views.complete, name="complete"),
    path("extraction/<id:pk>/risk-of-bias/", views.risk_of_bias, name="risk_of_bias"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/prisma.<str:fmt>", report_views.prisma_download, name="prisma"),
    path("reports/forest/<slug:key>.<str:fmt>", report_views.forest_download, name="forest"),
    path(
        "reports/time-course/<slug:outcome>.<str:fmt>",
        report_views.time_course_download,
        name="time_course",
    ),
    path("reports/settings/", report_views.synthesis_settings, name="synthesis_settings"),
    path("reports/shared-control/", report_views.multi_arm_choice, name="multi_arm"),
    path("reports/evidence.xlsx", report_views.workbook, name="workbook"),
    path("reports/tables-csv.zip", report_views.csv_zip, name="csv"),
    path("reports/analyses-r.zip", report_views.r_zip, name="r"),
    path("reports/records.ris", report_views.ris, name="ris"),
    path("reports/backup.json", report_views.backup_download, name="backup"),
    path("reports/exports/", report_views.export_start, name="export_start"),
    path("reports/exports/<id:pk>/", report_views.export_job, name="export_job"),
    path(
        "reports/exports/<id:pk>/download/", report_views.export_download, name="export_download"
    ),
    path("reports/exports/<id:pk>/retry/", report_views.export_retry, name="export_retry"),
]
