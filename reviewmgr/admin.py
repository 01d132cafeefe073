from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from reviewmgr.models import AuditEvent, ImportBatch, Membership, Record, Review, User

admin.site.register(User, UserAdmin)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "created_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [MembershipInline]

    def get_deleted_objects(self, objs, request):
        """A review's audit log goes with it, although nobody may delete audit events alone."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(AuditEvent._meta.verbose_name)
        return deleted, counts, perms_needed, protected


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "review", "is_lead", "is_reviewer", "is_extractor"]
    list_filter = ["is_lead", "is_reviewer", "is_extractor", "review"]
    autocomplete_fields = ["user", "review"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "review", "source", "file_name", "status", "record_count", "created_at"]
    list_filter = ["status", "source", "review"]
    search_fields = ["file_name", "source_detail"]
    readonly_fields = ["sha256", "created_at", "finished_at"]


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "year", "journal", "review"]
    list_filter = ["review", "type"]
    search_fields = ["title", "doi", "pmid"]
    raw_id_fields = ["batch"]
    list_select_related = ["review"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, even for staff."""

    list_display = ["at", "review", "who", "action", "target"]
    list_filter = ["action", "review"]
    search_fields = ["target", "summary", "actor_name"]
    date_hierarchy = "at"
    list_select_related = ["review"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
