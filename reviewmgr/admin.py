from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from reviewmgr.models import ImportBatch, Membership, Record, Review, User

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
