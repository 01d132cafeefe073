"""The duplicate search now reads DOIs as the importers do (reviewmgr.identifiers): a DOI that
ends in its own closing parenthesis or bracket keeps it. Records whose stored search keys were
written the old way are keyed again by the next search."""

from django.db import migrations
from django.db.models import Q

KEY_COLUMNS = ("key_doi", "key_pmid", "key_pmcid", "key_title_start", "key_title_end",
               "key_title_middle", "key_author_year", "key_volume_page")  # fmt: skip


def forget_old_doi_keys(apps, schema_editor):
    Record = apps.get_model("reviewmgr", "Record")
    Record.objects.filter(Q(doi__endswith=")") | Q(doi__endswith="]"), keys_written=True).update(
        keys_written=False, dedup_prepared=[], **dict.fromkeys(KEY_COLUMNS, "")
    )


class Migration(migrations.Migration):
    dependencies = [("reviewmgr", "0009_audit_settings_actions")]

    operations = [migrations.RunPython(forget_old_doi_keys, migrations.RunPython.noop)]
