"""Which records may be reports of one study: pure code, tested without a database."""

from pathlib import Path

from reviewmgr.report_matching import Candidate, registrations, suggest

ROOT = Path(__file__).resolve().parents[2]

ARTICLE = Candidate(
    1,
    "Perineural platelet-rich plasma for painful diabetic neuropathy: a randomised trial",
    "Registered at ClinicalTrials.gov (NCT01234567).",
    ["Rossi, Anna", "Bianchi, Bruno", "Conti, Carla"],
)


def test_trial_registrations_are_found_in_the_usual_registers():
    text = "NCT01234567; ISRCTN12345678, EudraCT 2019-001234-56 and ACTRN12619000123456."

    assert registrations(text) == {
        "NCT01234567",
        "ISRCTN12345678",
        "2019-001234-56",
        "ACTRN12619000123456",
    }


def test_a_shared_registration_comes_first_with_its_number():
    abstract = Candidate(2, "Interim results of a PRP trial", "NCT01234567 interim.", ["Ng, C"])
    namesake = Candidate(3, ARTICLE.title, "", ["Lee, D"])

    found = suggest(ARTICLE, [namesake, abstract])

    assert [s.id for s in found] == [2, 3]
    assert found[0].reasons == ("same registration NCT01234567",)
    assert found[1].reasons[0].startswith("similar title")


def test_two_shared_authors_suggest_a_report_and_one_does_not():
    follow_up = Candidate(4, "Two years after PRP", "", ["Rossi, A.", "Bianchi, B."])
    colleague = Candidate(5, "Statins and stroke", "", ["Rossi, Anna", "Verdi, G"])

    found = suggest(ARTICLE, [follow_up, colleague])

    assert [(s.id, s.reasons) for s in found] == [(4, ("2 shared authors",))]


def test_unrelated_records_and_the_record_itself_are_not_suggested():
    unrelated = Candidate(6, "Hand hygiene in intensive care", "", ["Ito, F"])

    assert suggest(ARTICLE, [ARTICLE, unrelated]) == []
