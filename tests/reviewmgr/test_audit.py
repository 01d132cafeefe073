"""The audit log: every change that matters leaves one event with who, when, before and after;
refused changes leave none; only leads read it, filter it and download it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from extraction import services as extraction_services
from extraction.models import Extraction, Template
from extraction.schema import ValueProblem
from reviewmgr import audit, duplicates, services
from reviewmgr.importers import ImportFileError
from reviewmgr.models import AuditEvent, DuplicateGroup, Record
from screening import services as screening_services
from screening.models import Stage, Verdict
from tests.conftest import answer, make_record, make_user

Action = AuditEvent.Action
TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT

RIS = """TY  - JOUR
TI  - Platelet-rich plasma injections for lumbar radicular pain: a randomised trial
AU  - Doe, Jane
AU  - Roe, Richard
PY  - 2021
DO  - 10.1000/prp.2021.1
ER  -

TY  - JOUR
TI  - Interleukin-6 in the dorsal root ganglion after chronic constriction injury in rats
AU  - Smith, Anna
PY  - 2019
JO  - Journal of Neuroinflammation
ER  -
"""
BROKEN_RIS = RIS + "\nTI  - A record whose first line went missing\nER  -\n"


def logged(review, action: str | None = None) -> list[AuditEvent]:
    events = review.audit_events.order_by("pk")
    return list(events.filter(action=action) if action else events)


def only_event(review) -> AuditEvent:
    events = logged(review)
    assert len(events) == 1, [e.action for e in events]
    return events[0]


@pytest.fixture
def records(review):
    made = [
        make_record(review, "Platelet-rich plasma for diabetic neuropathy", year=2020),
        make_record(review, "IL-6 after chronic constriction injury in rats", year=2018),
    ]
    screening_services.sync_screening_rows(review=review)
    return made


# Screening ----------------------------------------------------------------------------------


def test_a_screening_decision_is_logged_with_its_reviewer_and_verdict(review, records, reviewer):
    screening_services.record_decision(
        record=records[0], user=reviewer, stage=TA, verdict=Verdict.INCLUDE, note="PRP, rats"
    )

    event = only_event(review)
    assert event.action == Action.DECISION_RECORDED
    assert event.actor == reviewer
    assert event.target == f"Record {records[0].pk}: Platelet-rich plasma for diabetic neuropathy"
    assert (event.target_type, event.target_id) == ("record", records[0].pk)
    assert event.before is None
    assert event.after["verdict"] == "include"
    assert event.after["note"] == "PRP, rats"
    assert "reviewer decided “include”" in event.summary


def test_a_changed_decision_logs_what_it_was_and_what_it_became(review, records, reviewer):
    record = records[0]
    screening_services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    screening_services.record_decision(
        record=record, user=reviewer, stage=TA, verdict="exclude", reason="Wrong population"
    )

    event = logged(review, Action.DECISION_CHANGED)[0]
    assert len(logged(review)) == 2
    assert (event.before["verdict"], event.after["verdict"]) == ("include", "exclude")
    assert event.after["reason"] == "Wrong population"
    changed = {change.key for change in audit.changes(event.before, event.after)}
    assert changed == {"verdict", "reason"}


def test_undoing_a_decision_logs_the_decision_that_went(review, records, reviewer):
    record = records[0]
    screening_services.record_decision(record=record, user=reviewer, stage=TA, verdict="maybe")
    screening_services.withdraw_decision(record=record, reviewer=reviewer, stage=TA)

    event = logged(review)[-1]
    assert event.action == Action.DECISION_UNDONE
    assert event.actor == reviewer
    assert event.before["verdict"] == "maybe"
    assert event.after is None


def test_a_lead_withdrawing_a_reviewers_decision_is_logged_as_the_leads_act(
    review, records, lead, reviewer
):
    record = records[0]
    screening_services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    screening_services.withdraw_decision(record=record, reviewer=reviewer, stage=TA, user=lead)

    event = logged(review)[-1]
    assert event.action == Action.DECISION_WITHDRAWN
    assert event.actor == lead
    assert event.before["reviewer"] == "reviewer"
    assert "lead withdrew reviewer's decision" in event.summary


def test_a_refused_decision_leaves_no_event(review, records, reviewer):
    with pytest.raises(ValidationError):
        screening_services.record_decision(
            record=records[0], user=reviewer, stage=TA, verdict="exclude", reason="Made up"
        )
    screening_services.withdraw_decision(record=records[0], reviewer=reviewer, stage=TA)

    assert logged(review) == []  # and undoing a decision that never was logs nothing either


def test_an_event_is_rolled_back_with_the_change_it_records(review, records, reviewer):
    with pytest.raises(RuntimeError), transaction.atomic():
        screening_services.record_decision(
            record=records[0], user=reviewer, stage=TA, verdict="include"
        )
        raise RuntimeError("the request failed after the decision")

    assert not records[0].decisions.exists()
    assert logged(review) == []


def test_resolving_a_conflict_logs_the_status_before_and_the_outcome_after(
    review, records, lead, reviewer, second_reviewer
):
    record = records[0]
    screening_services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    screening_services.record_decision(
        record=record, user=second_reviewer, stage=TA, verdict="exclude", reason="Language"
    )
    screening_services.resolve_record(
        record=record, user=lead, stage=TA, verdict="include", note="Translated"
    )

    event = logged(review, Action.RESOLVED)[0]
    assert event.actor == lead
    assert event.before == {"stage": TA, "status": "conflict", "outcome": ""}
    assert event.after["status"] == "resolved"
    assert event.after["outcome"] == "include"
    assert event.after["note"] == "Translated"


def test_adding_a_reviewer_logs_how_many_decisions_the_record_needs(review, records, lead):
    screening_services.add_reviewer(record=records[0], user=lead, stage=TA)

    event = only_event(review)
    assert event.action == Action.REVIEWER_ADDED
    assert (event.before["reviewers_required"], event.after["reviewers_required"]) == (2, 3)


def test_stopping_and_resuming_are_logged_and_a_refused_stop_is_not(review, records, lead):
    screening_services.stop_screening(review=review, stage=TA, user=lead, note="Enough")
    with pytest.raises(ValidationError):
        screening_services.stop_screening(review=review, stage=TA, user=lead)
    screening_services.resume_screening(review=review, stage=TA, user=lead, note="New search")

    stopped, resumed = logged(review)
    assert (stopped.action, resumed.action) == (Action.SCREENING_STOPPED, Action.SCREENING_RESUMED)
    assert (stopped.before["stopped"], stopped.after["stopped"]) == (False, True)
    assert stopped.after["note"] == "Enough"
    assert "rule" in stopped.after and "estimate" in stopped.after
    assert resumed.after["stopped"] is False


def test_screening_settings_log_only_the_settings_that_changed(client, review, lead):
    client.force_login(lead)
    url = reverse("screening:settings", args=[review.slug])
    config = screening_services.config_for(review)
    assert config.blind and config.maybe_advances
    form = {
        "reviewers_required": "2",
        "maybe_advances": "on",
        "order": config.order,
        "retrain_every": str(config.retrain_every),
        "exploration": str(config.exploration),
        "exclusion_reasons": "\n".join(config.exclusion_reasons),
        "full_text_reasons_must_agree": "on",
    }
    client.post(url, form)  # "blind" unticked
    client.post(url, form)  # saved again unchanged: nothing to log

    # unblinding is also logged on its own, in words (see tests/screening/test_blinding.py)
    unblinded = review.audit_events.get(action=Action.SCREENING_UNBLINDED)
    assert unblinded.actor == lead
    assert review.audit_events.count() == 2
    event = review.audit_events.get(action=Action.SCREENING_SETTINGS)
    assert event.actor == lead
    assert event.before == {"blind": True}
    assert event.after == {"blind": False}
    config.refresh_from_db()
    assert config.blind is False


# Duplicates ---------------------------------------------------------------------------------


def test_an_import_logs_its_outcome_with_counts_and_automatic_merges_as_reviewmgr(review, lead):
    services.import_records(review=review, data=RIS.encode(), file_name="a.ris", user=lead)
    batch, _ = services.import_records(
        review=review, data=RIS.encode(), file_name="b.ris", user=lead
    )

    done = logged(review, Action.IMPORT_DONE)
    assert [e.after["records"] for e in done] == [2, 2]
    assert done[1].actor == lead
    assert (done[1].target_type, done[1].target_id) == ("importbatch", batch.pk)
    assert done[1].after["file"] == "b.ris"
    merged = logged(review, Action.DUPLICATES_AUTO_MERGED)
    assert len(merged) == 1  # one event for the whole run, however many groups
    assert merged[0].actor is None
    assert merged[0].who == "reviewmgr"
    assert merged[0].before["duplicates_removed"] == 0
    assert merged[0].after["duplicates_removed"] == 2
    assert merged[0].after["groups_merged"] == 2


def test_a_file_that_cannot_be_imported_logs_nothing(review, lead):
    with pytest.raises(ImportFileError):
        services.import_records(
            review=review, data=BROKEN_RIS.encode(), file_name="x.ris", user=lead
        )

    assert logged(review) == []


def test_a_queued_import_that_fails_is_logged_with_its_error(
    client, review, lead, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("reviewmgr:batch_upload", args=[review.slug]),
            {
                "file": SimpleUploadedFile("broken.ris", BROKEN_RIS.encode()),
                "source": "pubmed",
                "format": "auto",
            },
        )

    event = only_event(review)
    assert event.action == Action.IMPORT_FAILED
    assert event.actor == lead
    assert "line" in event.after["error"]
    assert event.after["problems"] >= 1


def make_group(review, *records) -> DuplicateGroup:
    group = DuplicateGroup.objects.create(review=review, score=0.9, reasons=["same title"])
    Record.objects.filter(pk__in=[r.pk for r in records]).update(duplicate_group=group)
    return group


def test_a_merge_and_its_undo_are_logged_with_the_primary(review, lead):
    plain = make_record(review, "PRP for sciatica", year=2020)
    rich = make_record(review, "PRP for sciatica", year=2020, pmid="31234567")
    group = make_group(review, plain, rich)

    duplicates.merge_group(group=group, user=lead, primary=plain)
    duplicates.reject_group(group=group, user=lead)

    merged, unmerged = logged(review)
    assert merged.action == Action.DUPLICATES_MERGED
    assert merged.actor == lead
    assert merged.before == {"status": "pending", "primary": None}
    assert merged.after == {"status": "merged", "primary": plain.pk, "copies": [rich.pk]}
    assert "filled in its pmid" in merged.summary
    assert unmerged.action == Action.DUPLICATES_UNMERGED
    assert (unmerged.before["status"], unmerged.after["status"]) == ("merged", "rejected")


def test_keeping_a_pending_group_apart_is_logged_as_not_duplicates(review, lead):
    group = make_group(review, make_record(review, "A"), make_record(review, "A"))

    duplicates.reject_group(group=group, user=lead)

    assert only_event(review).action == Action.DUPLICATES_REJECTED


def test_a_merge_refused_for_a_group_too_small_leaves_no_event(review, lead):
    group = make_group(review, make_record(review, "Alone"))

    with pytest.raises(ValidationError):
        duplicates.merge_group(group=group, user=lead)

    assert logged(review) == []


# Imports, records, members and settings -----------------------------------------------------


def test_deleting_an_import_logs_what_went_and_how_many_records(client, review, lead):
    batch, _ = services.import_records(review=review, data=RIS.encode(), file_name="a.ris")
    client.force_login(lead)

    client.post(reverse("reviewmgr:batch_delete", args=[review.slug, batch.pk]))

    event = logged(review, Action.IMPORT_DELETED)[0]
    assert event.actor == lead
    assert event.before["file"] == "a.ris"
    assert event.before["records"] == 2
    assert event.after is None
    assert f"deleted import {batch.pk} (a.ris) with its 2 records" in event.summary


def test_a_record_correction_logs_the_fields_before_and_after(client, review, lead):
    record = make_record(review, "PRP for sciatica")
    client.force_login(lead)

    client.post(
        reverse("reviewmgr:record_correct", args=[review.slug, record.pk]),
        {"title": "PRP for sciatica", "abstract": "We randomised 60 patients.", "year": "2020"},
    )

    event = only_event(review)
    assert event.action == Action.RECORD_CORRECTED
    assert event.actor == lead
    assert event.before == {"abstract": "", "year": None}
    assert event.after == {"abstract": "We randomised 60 patients.", "year": 2020}


def test_marking_a_record_known_relevant_is_logged_once(client, review, lead):
    record = make_record(review)
    client.force_login(lead)
    url = reverse("reviewmgr:record_known_relevant", args=[review.slug, record.pk])

    client.post(url, {"known": "1"})
    client.post(url, {"known": "1"})  # already marked: nothing changes

    event = only_event(review)
    assert event.action == Action.KNOWN_RELEVANT
    assert (event.before["known_relevant"], event.after["known_relevant"]) == (False, True)
    assert (event.target_type, event.target_id) == ("record", record.pk)


def test_members_added_changed_and_removed_are_logged(client, review, lead):
    newcomer = make_user("newcomer")
    client.force_login(lead)

    client.post(
        reverse("reviewmgr:member_list", args=[review.slug]),
        {"username": "newcomer", "roles": ["reviewer"]},
    )
    membership = review.memberships.get(user=newcomer)
    client.post(
        reverse("reviewmgr:member_update", args=[review.slug, membership.pk]),
        {"roles": ["reviewer", "extractor"]},
    )
    client.post(reverse("reviewmgr:member_remove", args=[review.slug, membership.pk]))

    added, changed, removed = logged(review)
    assert added.action == Action.MEMBER_ADDED
    assert added.after == {"user": "newcomer", "roles": ["reviewer"]}
    assert changed.before == {"roles": ["reviewer"]}
    assert changed.after == {"roles": ["reviewer", "extractor"]}
    assert removed.action == Action.MEMBER_REMOVED
    assert removed.before["user"] == "newcomer"
    assert {added.actor, changed.actor, removed.actor} == {lead}


def test_removing_the_last_lead_is_refused_and_leaves_no_event(review, lead):
    with pytest.raises(ValidationError):
        services.remove_member(membership=review.memberships.get(user=lead), user=lead)

    assert logged(review) == []


def test_review_settings_changes_are_logged_field_by_field(client, review, lead):
    client.force_login(lead)

    client.post(
        reverse("reviewmgr:review_edit", args=[review.slug]),
        {"title": "Pain review", "slug": review.slug, "question": "Does PRP help?"},
    )

    event = only_event(review)
    assert event.action == Action.REVIEW_SETTINGS
    assert event.before == {"question": ""}
    assert event.after == {"question": "Does PRP help?"}


# Extraction ---------------------------------------------------------------------------------

ANIMAL_STUDY = {
    "study.design": "animal",
    "study.subject": "animal",
    "animal.species": "rat",
    "animal.strain": "Sprague-Dawley",
    "animal.sex": "male",
}


def test_a_template_and_its_new_version_are_logged(review, lead):
    builtin = Template.objects.get(review=None)
    own = extraction_services.create_template(
        review=review, name="Our form", user=lead, copy_of=builtin
    )
    definition = own.current.definition
    for section in definition["sections"]:
        section["fields"] = [f for f in section["fields"] if f["key"] != "country"]
    extraction_services.publish_template_version(template=own, definition=definition, user=lead)
    with pytest.raises(ValidationError):  # nothing changed: refused
        extraction_services.publish_template_version(template=own, definition=definition, user=lead)

    created, version = logged(review)
    assert created.action == Action.TEMPLATE_CREATED
    assert created.after["copy_of"] == builtin.name
    assert version.action == Action.TEMPLATE_VERSION
    assert (version.before["version"], version.after["version"]) == (1, 2)
    assert version.after["changes"]
    assert (version.target_type, version.target_id) == ("template", own.pk)


def test_each_extraction_value_edit_is_logged_with_before_and_after(review, study, extractors):
    first, _ = extractors
    extraction = extraction_services.start_extraction(study=study, user=first)

    answer(extraction, first, {"study.sample_size": "24"})
    answer(extraction, first, {"study.sample_size": "26"})
    answer(extraction, first, {"study.sample_size": "26"})  # unchanged: no event
    row = extraction_services.add_row(
        extraction=extraction, path="cytokines.measurements", user=first
    )
    extraction_services.delete_row(
        extraction=extraction, path="cytokines.measurements", row=row, user=first
    )

    edits = logged(review, Action.VALUE_EDITED)
    assert [(e.before, e.after) for e in edits] == [
        ({"study.sample_size": None}, {"study.sample_size": 24}),
        ({"study.sample_size": 24}, {"study.sample_size": 26}),
        ({"cytokines.measurements[1]": None}, {"cytokines.measurements[1]": {}}),
        ({"cytokines.measurements[1]": {}}, {"cytokines.measurements[1]": None}),
    ]
    assert {e.actor for e in edits} == {first}
    assert edits[0].target.startswith(f"Study {study.pk}: PRP for diabetic neuropathy")
    assert (edits[0].target_type, edits[0].target_id) == ("extraction", extraction.pk)


def test_a_bad_value_is_refused_and_leaves_no_event(review, study, extractors):
    first, _ = extractors
    extraction = extraction_services.start_extraction(study=study, user=first)

    with pytest.raises(ValueProblem, match="whole number"):
        answer(extraction, first, {"study.sample_size": "24.5"})

    assert logged(review) == []


def test_consensus_start_values_finalising_and_reopening_are_logged(
    review, lead, study, extractors
):
    first, second = extractors
    a = extraction_services.start_extraction(study=study, user=first)
    b = extraction_services.start_extraction(study=study, user=second)
    answer(a, first, {**ANIMAL_STUDY, "study.sample_size": "24"})
    answer(b, second, {**ANIMAL_STUDY, "study.sample_size": "20"})
    extraction_services.mark_complete(extraction=a)
    extraction_services.mark_complete(extraction=b)
    consensus = extraction_services.start_consensus(study=study, user=lead)
    (started,) = logged(review, Action.CONSENSUS_STARTED)
    assert "animal.strain" in started.after["agreed"]
    assert "study.sample_size" not in started.after["agreed"]  # the extractors disagree on it
    before = len(logged(review))

    extraction_services.take_value(
        consensus=consensus, source=b, path="study.sample_size", user=lead
    )
    extraction_services.finalise_consensus(consensus=consensus, user=lead)
    extraction_services.reopen_consensus(consensus=consensus, user=lead)
    extraction_services.reopen_consensus(consensus=consensus, user=lead)  # already open

    taken, final, reopened = logged(review)[before:]
    assert taken.action == Action.CONSENSUS_TAKEN
    assert taken.after == {"study.sample_size": 20}
    assert "took study.sample_size from extractor2's extraction" in taken.summary
    assert (final.action, final.after) == (Action.CONSENSUS_FINALISED, {"final": True})
    assert (reopened.action, reopened.after) == (Action.CONSENSUS_REOPENED, {"final": False})
    assert {taken.actor, final.actor, reopened.actor} == {lead}
    assert Extraction.objects.get(pk=consensus.pk).final is False


def test_risk_of_bias_saves_log_the_judgements_that_changed(review, study, extractors):
    first, _ = extractors
    extraction = extraction_services.start_extraction(study=study, user=first)
    answer(extraction, first, {"study.design": "rct"})
    tool = extraction_services.tool_for(extraction)
    all_low = {d.key: "low" for d in tool.domains}
    third = tool.domains[2].key

    for judgements, quotes in [(all_low, {}), ({**all_low, third: "high"}, {third: "40% lost"})]:
        extraction_services.save_risk_of_bias(
            extraction=extraction, tool="rob2", judgements=judgements, quotes=quotes, user=first
        )
    with pytest.raises(ValidationError):
        extraction_services.save_risk_of_bias(
            extraction=extraction, tool="rob2", judgements={"d1": "awful"}, quotes={}, user=first
        )

    first_save, second_save = logged(review, Action.RISK_OF_BIAS)
    assert first_save.before is None
    assert first_save.after["overall"] == "low"
    changed = {
        c.key: (c.before, c.after) for c in audit.changes(second_save.before, second_save.after)
    }
    assert changed == {
        third: ("low", "high"),
        f"{third} quote": (None, "40% lost"),
        "overall": ("low", "high"),
    }


# Append-only ----------------------------------------------------------------------------------


def test_events_cannot_be_changed_or_deleted_but_go_with_their_review(review, records, reviewer):
    screening_services.record_decision(
        record=records[0], user=reviewer, stage=TA, verdict="include"
    )
    event = only_event(review)
    event.summary = "Nothing happened."

    with pytest.raises(ValueError, match="never changed"):
        event.save()
    with pytest.raises(ValueError, match="never deleted"):
        event.delete()
    review.delete()
    assert not AuditEvent.objects.exists()


def test_a_deleted_account_is_still_named_in_the_log(review):
    former = make_user("former_lead")
    audit.log(review=review, actor=former, action=Action.REVIEW_SETTINGS, summary="Renamed.")
    former.delete()

    event = AuditEvent.objects.get()
    assert event.actor is None
    assert event.who == "former_lead"


def test_events_cannot_be_added_edited_or_deleted_in_the_admin(admin_client, review):
    event = audit.log(review=review, actor=None, action=Action.REVIEW_SETTINGS, summary="Was")
    change = reverse("admin:reviewmgr_auditevent_change", args=[event.pk])

    assert admin_client.get(change).status_code == 200  # staff may read it
    assert admin_client.post(change, {"summary": "Is"}).status_code == 403
    delete = reverse("admin:reviewmgr_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:reviewmgr_auditevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.summary == "Was"


def test_a_review_deleted_in_the_admin_takes_its_audit_log_with_it(admin_client, review):
    audit.log(review=review, actor=None, action=Action.REVIEW_SETTINGS, summary="Was")

    admin_client.post(reverse("admin:reviewmgr_review_delete", args=[review.pk]), {"post": "yes"})

    assert not AuditEvent.objects.exists()


# The page -------------------------------------------------------------------------------------


def audit_url(review, **query) -> str:
    url = reverse("reviewmgr:audit_log", args=[review.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_only_leads_see_the_audit_log(client, review, reviewer, outsider, lead):
    client.force_login(outsider)
    assert client.get(audit_url(review)).status_code == 404
    client.force_login(reviewer)
    assert client.get(audit_url(review)).status_code == 403
    assert client.get(audit_url(review, format="csv")).status_code == 403
    assert "Audit log" not in client.get(review.get_absolute_url()).text
    client.force_login(lead)
    assert client.get(audit_url(review)).status_code == 200
    assert audit_url(review) in client.get(review.get_absolute_url()).text


def test_a_reviewer_cannot_read_decisions_through_the_log_in_blind_mode(
    client, review, records, reviewer, second_reviewer
):
    config = screening_services.config_for(review)
    config.blind = True
    config.save()
    screening_services.record_decision(
        record=records[0], user=second_reviewer, stage=TA, verdict="exclude"
    )
    client.force_login(reviewer)

    assert client.get(audit_url(review)).status_code == 403
    assert client.get(audit_url(review, format="csv")).status_code == 403


def test_the_page_lists_events_newest_first_with_only_the_changed_values(
    client, review, records, lead, reviewer
):
    record = records[0]
    screening_services.record_decision(record=record, user=reviewer, stage=TA, verdict="include")
    screening_services.record_decision(
        record=record, user=reviewer, stage=TA, verdict="exclude", reason="Language"
    )
    client.force_login(lead)

    page = client.get(audit_url(review)).text

    assert page.index("Screening decision changed") < page.index("Screening decision</td>")
    assert f'href="{record.get_absolute_url()}"' in page
    changed_cell = page.split("Screening decision changed")[1].split("</tr>")[0]
    assert "<strong>verdict</strong>: include" in changed_cell
    assert "<strong>reason</strong>" in changed_cell
    assert "<strong>stage</strong>" not in changed_cell  # unchanged keys are left out
    assert "<caption" in page and '<th scope="col">Who</th>' in page


def test_the_log_filters_by_kind_of_work_person_and_day(client, review, lead, reviewer):
    def event(action, actor, day):
        return AuditEvent.objects.create(
            review=review,
            actor=actor,
            actor_name=actor.username if actor else "",
            action=action,
            at=datetime(2026, 3, day, 12, tzinfo=UTC),
            summary=f"{action} on day {day}",
        )

    event(Action.DECISION_RECORDED, reviewer, 1)
    event(Action.MEMBER_ADDED, lead, 2)
    event(Action.DUPLICATES_AUTO_MERGED, None, 3)
    event(Action.RESOLVED, lead, 4)
    client.force_login(lead)

    def shown(**query) -> list[str]:
        page = client.get(audit_url(review, **query)).text
        return [day for day in "1234" if f"on day {day}" in page]

    assert shown() == ["1", "2", "3", "4"]
    assert shown(group="screening") == ["1", "4"]
    assert shown(actor=lead.pk) == ["2", "4"]
    assert shown(actor="null") == ["3"]  # the product's own changes
    assert shown(start="2026-03-02", end="2026-03-03") == ["2", "3"]
    assert shown(group="screening", actor=lead.pk, start="2026-03-04") == ["4"]
    assert 'for="id_group"' in client.get(audit_url(review)).text


def test_the_csv_download_has_the_filtered_events_with_formulae_defused(client, review, lead):
    audit.log(
        review=review,
        actor=lead,
        action=Action.RECORD_CORRECTED,
        target=audit.Target("=HYPERLINK(1)", "record", 7),
        before={"title": "Old"},
        after={"title": "New"},
        summary="lead corrected record 7: title.",
    )
    audit.log(review=review, actor=None, action=Action.IMPORT_DONE, summary="Imported 2 records.")
    client.force_login(lead)

    response = client.get(audit_url(review, format="csv", group="record"))

    assert response["Content-Type"].startswith("text/csv")
    assert "pain-review-audit-log.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["When", "Who", "What", "Action"]
    assert len(rows) == 2  # the import is filtered out
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Who"] == "lead"
    assert row["Object"] == "'=HYPERLINK(1)"
    assert row["Before"] == '{"title": "Old"}'
    assert row["After"] == '{"title": "New"}'


def test_the_log_pages_by_a_hundred_events(client, review, lead):
    for n in range(101):
        audit.log(review=review, actor=None, action=Action.IMPORT_DONE, summary=f"Event {n}.")
    client.force_login(lead)

    first = client.get(audit_url(review)).text
    second = client.get(audit_url(review, page=2)).text

    assert "Event 100." in first and "Event 0." not in first
    assert "Event 0." in second
    assert "101 events" in first
