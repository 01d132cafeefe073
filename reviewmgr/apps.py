from django.apps import AppConfig
from django.urls import register_converter


class ReviewmgrConfig(AppConfig):
    name = "reviewmgr"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from reviewmgr.converters import IdConverter

        register_converter(IdConverter, "id")
