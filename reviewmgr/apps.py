from django.apps import AppConfig


class ReviewmgrConfig(AppConfig):
    name = "reviewmgr"
    verbose_name = "Reviews"
