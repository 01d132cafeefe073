"""Risk-of-bias tools: their domains, judgement scales and overall rules, free of Django.

A review judges each included study with the tool made for its design: RoB 2 for randomised
trials, ROBINS-I for non-randomised studies of interventions, SYRCLE's tool for animal
experiments, and the appraisal of Murad et al. for case series. Each tool has its own domains
and its own scale, and the overall judgement follows the tool's published rule, so the tools
live side by side rather than being forced onto one scale. Forms, services and exports read
domains and labels from here.

RoB 2 and ROBINS-I judge a specific result (one outcome at one time point), not a whole study;
a study with several outcomes may need several assessments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "DESIGN_TOOLS",
    "TOOLS",
    "Domain",
    "JudgementError",
    "Tool",
    "tool_for_design",
    "validate",
]


class JudgementError(ValueError):
    """A judgement a tool does not allow; `domain` is the offending domain key, for forms."""

    def __init__(self, message: str, *, domain: str | None = None) -> None:
        super().__init__(message)
        self.domain = domain


@dataclass(frozen=True, slots=True)
class Domain:
    """One domain (or, for SYRCLE, item) of a tool; `help` paraphrases its signalling questions."""

    key: str
    label: str
    help: str


# The rule gets the judgements in domain order and the RoB 2 "some concerns" threshold.
OverallRule = Callable[[Sequence[str], int | None], str]


@dataclass(frozen=True, slots=True)
class Tool:
    """A risk-of-bias tool and the rule that combines its domain judgements.

    `judgements` lists the tool's own scale from best to worst; `note` says what a reader of
    the overall judgement must know (for SYRCLE: that reviewmgr, not SYRCLE, computes it).
    """

    key: str
    name: str
    citation: str
    applies_to: str
    domains: tuple[Domain, ...]
    judgements: tuple[str, ...]
    judgement_labels: Mapping[str, str]
    note: str
    rule: OverallRule = field(repr=False, compare=False)

    def label(self, judgement: str) -> str:
        """The label a person reads, e.g. "Some concerns" for "some_concerns"."""
        return self.judgement_labels[judgement]

    def overall(
        self, judgements: Mapping[str, str], *, some_concerns_to_high: int | None = None
    ) -> str | None:
        """The overall judgement, or None while any domain is still unjudged.

        `some_concerns_to_high` applies to RoB 2 only. Sterne et al. 2019 rate a result high
        risk when "some concerns" in multiple domains substantially lower confidence in it,
        and leave "multiple" to the review team. None (the default) does not apply that
        clause; 3 makes three or more domains with some concerns an overall high risk. A review
        should fix the number in its protocol and apply it to every trial.
        """
        validate(self, judgements)
        if some_concerns_to_high is not None:
            if "some_concerns" not in self.judgements:
                raise ValueError(f"{self.name} has no 'some concerns' judgement to count")
            if (
                isinstance(some_concerns_to_high, bool)
                or not isinstance(some_concerns_to_high, int)
                or not 2 <= some_concerns_to_high <= len(self.domains)
            ):
                raise ValueError(
                    "some_concerns_to_high must be a whole number of domains from 2 to "
                    f"{len(self.domains)}, got {some_concerns_to_high!r}"
                )
        if any(domain.key not in judgements for domain in self.domains):
            return None
        in_order = [judgements[domain.key] for domain in self.domains]
        return self.rule(in_order, some_concerns_to_high)


def validate(tool: Tool, judgements: Mapping[str, str]) -> None:
    """Raise `JudgementError` for a domain the tool lacks or a judgement off its scale.

    Missing domains are allowed, so an assessment can be saved half done; `Tool.overall`
    returns None until it is complete.
    """
    labels = {domain.key: domain.label for domain in tool.domains}
    for key, judgement in judgements.items():
        if key not in labels:
            raise JudgementError(
                f"{key!r} is not a domain of {tool.name}; its domains are {', '.join(labels)}",
                domain=key,
            )
        if judgement not in tool.judgements:
            raise JudgementError(
                f"{labels[key]}: {judgement!r} is not a {tool.name} judgement; "
                f"use one of {', '.join(tool.judgements)}",
                domain=key,
            )


def _rob2_overall(judgements: Sequence[str], some_concerns_to_high: int | None) -> str:
    if "high" in judgements:
        return "high"
    concerns = judgements.count("some_concerns")
    if some_concerns_to_high is not None and concerns >= some_concerns_to_high:
        return "high"
    return "some_concerns" if concerns else "low"


def _robins_i_overall(judgements: Sequence[str], _: int | None) -> str:
    for worst in ("critical", "serious", "no_information", "moderate"):
        if worst in judgements:
            return worst
    return "low"


def _syrcle_overall(judgements: Sequence[str], _: int | None) -> str:
    for worst in ("high", "unclear"):
        if worst in judgements:
            return worst
    return "low"


ROB2 = Tool(
    key="rob2",
    name="RoB 2",
    citation=(
        "Sterne JAC, Savović J, Page MJ, et al. RoB 2: a revised tool for assessing risk of "
        "bias in randomised trials. BMJ 2019;366:l4898"
    ),
    applies_to=(
        "Randomised trials, individually randomised and parallel-group. Cluster-randomised and "
        "crossover trials have RoB 2 variants with extra domains, not modelled here."
    ),
    domains=(
        Domain(
            "randomisation_process",
            "Bias arising from the randomisation process",
            "Was the allocation sequence random and concealed until participants were "
            "assigned? Do baseline differences suggest a problem with randomisation?",
        ),
        Domain(
            "deviations_from_interventions",
            "Bias due to deviations from intended interventions",
            "Were participants and carers aware of the assigned intervention, were there "
            "deviations because of the trial context, and was an appropriate analysis (e.g. "
            "intention to treat) used to estimate the effect of assignment?",
        ),
        Domain(
            "missing_outcome_data",
            "Bias due to missing outcome data",
            "Were outcome data available for (nearly) all participants? If not, is there "
            "evidence the result is not biased, or could missingness depend on the true value?",
        ),
        Domain(
            "measurement_of_outcome",
            "Bias in measurement of the outcome",
            "Was the measurement method appropriate and the same in all groups? Were "
            "assessors aware of the intervention, and could that have influenced the result?",
        ),
        Domain(
            "selection_of_reported_result",
            "Bias in selection of the reported result",
            "Was the analysis prespecified, or could the result have been chosen from several "
            "outcome measurements or analyses?",
        ),
    ),
    judgements=("low", "some_concerns", "high"),
    judgement_labels=MappingProxyType(
        {"low": "Low risk", "some_concerns": "Some concerns", "high": "High risk"}
    ),
    note=(
        "Overall: low if every domain is low, high if any domain is high, otherwise some "
        "concerns; several domains with some concerns count as high only at the threshold "
        "the review sets."
    ),
    rule=_rob2_overall,
)

ROBINS_I = Tool(
    key="robins_i",
    name="ROBINS-I",
    citation=(
        "Sterne JA, Hernán MA, Reeves BC, et al. ROBINS-I: a tool for assessing risk of bias "
        "in non-randomised studies of interventions. BMJ 2016;355:i4919"
    ),
    applies_to=(
        "Non-randomised studies comparing interventions: non-randomised trials, cohort "
        "studies and other cohort-type designs (2016 version)."
    ),
    domains=(
        Domain(
            "confounding",
            "Bias due to confounding",
            "Could prognostic factors have influenced which intervention people received? "
            "Were the important confounders measured and controlled for in the analysis?",
        ),
        Domain(
            "selection_of_participants",
            "Bias in selection of participants into the study",
            "Was selection into the study or the analysis related to intervention and "
            "outcome? Do the start of follow-up and of the intervention coincide?",
        ),
        Domain(
            "classification_of_interventions",
            "Bias in classification of interventions",
            "Were the intervention groups clearly defined and recorded at the start, and "
            "could knowledge of the outcome have affected the classification?",
        ),
        Domain(
            "deviations_from_interventions",
            "Bias due to deviations from intended interventions",
            "Were there deviations beyond usual practice, unbalanced between groups and "
            "likely to have affected the outcome?",
        ),
        Domain(
            "missing_data",
            "Bias due to missing data",
            "Were outcome data available for (nearly) all participants, and were people left "
            "out for missing intervention or confounder data?",
        ),
        Domain(
            "measurement_of_outcomes",
            "Bias in measurement of outcomes",
            "Could knowledge of the intervention received have influenced the outcome "
            "measurement, and were methods comparable across groups?",
        ),
        Domain(
            "selection_of_reported_result",
            "Bias in selection of the reported result",
            "Is the result likely to have been selected from several outcome measurements, "
            "analyses or subgroups?",
        ),
    ),
    judgements=("low", "moderate", "serious", "critical", "no_information"),
    judgement_labels=MappingProxyType(
        {
            "low": "Low risk",
            "moderate": "Moderate risk",
            "serious": "Serious risk",
            "critical": "Critical risk",
            "no_information": "No information",
        }
    ),
    note=(
        "Overall: the most severe domain judgement, critical before serious. Any domain "
        "without information, with none serious or critical, makes the overall 'no "
        "information'. ROBINS-I asks for that only when information lacks in a key domain; "
        "reviewmgr treats every domain as key, which is the cautious reading. Implements the "
        "2016 tool, not ROBINS-I version 2."
    ),
    rule=_robins_i_overall,
)

SYRCLE = Tool(
    key="syrcle",
    name="SYRCLE's risk of bias tool",
    citation=(
        "Hooijmans CR, Rovers MM, de Vries RBM, Leenaars M, Ritskes-Hoitinga M, Langendam MW. "
        "SYRCLE's risk of bias tool for animal studies. BMC Med Res Methodol 2014;14:43. "
        "SYRCLE advises against a summary score; the overall judgement here is computed by "
        "reviewmgr, not part of the tool."
    ),
    applies_to="Animal intervention studies.",
    domains=(
        Domain(
            "sequence_generation",
            "Sequence generation (selection bias)",
            "Was the allocation sequence adequately generated and applied?",
        ),
        Domain(
            "baseline_characteristics",
            "Baseline characteristics (selection bias)",
            "Were the groups similar at baseline, or adjusted for confounders in the analysis?",
        ),
        Domain(
            "allocation_concealment",
            "Allocation concealment (selection bias)",
            "Was the allocation adequately concealed?",
        ),
        Domain(
            "random_housing",
            "Random housing (performance bias)",
            "Were the animals randomly housed during the experiment?",
        ),
        Domain(
            "blinding_of_caregivers",
            "Blinding of caregivers and investigators (performance bias)",
            "Were caregivers and investigators kept unaware of which intervention each animal "
            "received?",
        ),
        Domain(
            "random_outcome_assessment",
            "Random outcome assessment (detection bias)",
            "Were animals selected at random for outcome assessment?",
        ),
        Domain(
            "blinding_of_outcome_assessor",
            "Blinding of outcome assessor (detection bias)",
            "Was the outcome assessor blinded?",
        ),
        Domain(
            "incomplete_outcome_data",
            "Incomplete outcome data (attrition bias)",
            "Were incomplete outcome data adequately addressed?",
        ),
        Domain(
            "selective_outcome_reporting",
            "Selective outcome reporting (reporting bias)",
            "Are reports of the study free of selective outcome reporting?",
        ),
        Domain(
            "other_sources_of_bias",
            "Other sources of bias",
            "Was the study apparently free of other problems that could cause a high risk of bias?",
        ),
    ),
    judgements=("low", "unclear", "high"),
    judgement_labels=MappingProxyType(
        {"low": "Low risk", "unclear": "Unclear risk", "high": "High risk"}
    ),
    note=(
        "SYRCLE recommends reporting each item and not computing a summary score. The "
        "overall shown (high if any item is high, else unclear if any is unclear, else low) "
        "is reviewmgr's convenience summary, not SYRCLE's; report the per-item table."
    ),
    rule=_syrcle_overall,
)


def _case_series_overall(judgements: Sequence[str], _: int | None) -> str:
    applicable = [j for j in judgements if j != "not_applicable"]
    for worst in ("high", "unclear"):
        if worst in applicable:
            return worst
    return "low"


CASE_SERIES = Tool(
    key="case_series",
    name="Case series appraisal (Murad et al.)",
    citation=(
        "Murad MH, Sultan S, Haffar S, Bazerbachi F. Methodological quality and synthesis of "
        "case series and case reports. BMJ Evid Based Med 2018;23:60-63. The tool asks for "
        "an overall judgement rather than a score; the overall here is computed by reviewmgr."
    ),
    applies_to="Case series (and case reports): patients treated, with no comparison group.",
    domains=(
        Domain(
            "selection",
            "Selection",
            "Do the patients represent the whole experience of the investigators or centre "
            "(e.g. consecutive patients), or could they have been selected?",
        ),
        Domain(
            "exposure_ascertainment",
            "Ascertainment of the exposure",
            "Was the intervention (the PRP preparation, dose and injection) adequately "
            "ascertained?",
        ),
        Domain(
            "outcome_ascertainment",
            "Ascertainment of the outcome",
            "Were the outcomes (pain scores, function, cytokine levels) adequately ascertained?",
        ),
        Domain(
            "alternative_causes",
            "Causality: other explanations",
            "Were other causes that may explain the outcome ruled out (natural course, "
            "co-interventions, regression to the mean)?",
        ),
        Domain(
            "challenge_rechallenge",
            "Causality: challenge and rechallenge",
            "Was there a challenge or rechallenge phenomenon? Usually not applicable outside "
            "adverse drug events.",
        ),
        Domain(
            "dose_response",
            "Causality: dose-response",
            "Was there a dose-response effect (e.g. more injections, more improvement)?",
        ),
        Domain(
            "follow_up",
            "Causality: follow-up",
            "Was follow-up long enough for the outcomes to occur?",
        ),
        Domain(
            "reporting",
            "Reporting",
            "Are the cases described in enough detail for others to replicate the research "
            "or apply it in practice?",
        ),
    ),
    judgements=("low", "unclear", "high", "not_applicable"),
    judgement_labels=MappingProxyType(
        {
            "low": "Low concern",
            "unclear": "Unclear",
            "high": "High concern",
            "not_applicable": "Not applicable",
        }
    ),
    note=(
        "Murad et al. ask reviewers for an overall judgement from the questions that matter "
        "most for the review, not a score. The overall shown (high concern if any applicable "
        "question is answered no, else unclear if any is unclear, else low) is reviewmgr's "
        "convenience summary; report the per-question table. A case series has no comparison "
        "group, so its effects cannot be separated from the natural course."
    ),
    rule=_case_series_overall,
)

TOOLS: dict[str, Tool] = {tool.key: tool for tool in (ROB2, ROBINS_I, SYRCLE, CASE_SERIES)}

DESIGN_TOOLS: dict[str, str] = {
    "rct": "rob2",
    "non_randomised_trial": "robins_i",
    "cohort": "robins_i",
    "animal": "syrcle",
    "case_series": "case_series",
    "case_report": "case_series",
}

_NO_TOOL = {
    "in_vitro": "in-vitro studies have no risk-of-bias tool here; describe their methods instead",
    "review": "reviews are not assessed for risk of bias; assess the primary studies they cite",
}


def tool_for_design(design: str) -> Tool:
    """The tool for a study design; raises ValueError when the design has none.

    Designs without a tool raise rather than fall back to the nearest tool, because a
    ROBINS-I judgement on an uncontrolled case series would look valid and mean nothing.
    """
    if design in DESIGN_TOOLS:
        return TOOLS[DESIGN_TOOLS[design]]
    if design in _NO_TOOL:
        raise ValueError(_NO_TOOL[design])
    raise ValueError(
        f"unknown study design {design!r}; designs with a risk-of-bias tool: "
        f"{', '.join(DESIGN_TOOLS)}"
    )
