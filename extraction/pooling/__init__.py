"""Which numbers go into which meta-analysis, and why: arms, comparisons, time and the key.

Pure code: give it each study's label, template and stored values, the lead's time windows and
choices, and it returns the analyses with the arms each study contributes, plus a log saying
why each study is in or out of each analysis. Nothing here touches the database or computes
a statistic; `reporting` reads the data and `synthesis` pools what this package selects.

The rules a review statistician expects:

- **Arms are data** (`groups`). A study's groups come from its Groups table, each with a
  role; outcome rows name their group. Forms filled before the Groups table existed carry a
  group label and a role on every row; those become the groups, and "Comparator" is read as
  the control.
- **Comparisons are explicit** (`groups`). A study contributes the comparisons its extractors
  confirmed (treatment group against control group). With a Groups table but no confirmed
  comparison, the study is out, and the log shows the comparison the form would propose.
  Older forms fall back to that proposal, which is stated. The proposal is PRP against the
  injured or diseased control that received vehicle or saline (else the untreated one), never
  sham or naive.
- **Time as numbers** (`rows`): days since injury (or onset) and since PRP, one derived from
  the other through the day the group was treated. Text labels are never compared; an older
  form's "day 14" or "2 weeks" is read as a number of days, and the log says so.
- **The pooling key** (`analyses`) never mixes species, outcome, compartment, assay class
  (concentration against relative expression), final values against changes, log against
  natural scale, direction, the kind of comparison (PRP against vehicle is not PRP against a
  steroid) or time window.
- **Shared controls** (`shared`): one control and several treatment arms in one analysis are
  split (the control's n divided among the comparisons) or the arms combined into one group,
  as the lead chooses per analysis (Cochrane Handbook, section 23.3.4).
"""

from extraction.pooling.analyses import (
    Analysis,
    Choices,
    Decision,
    Key,
    StudyData,
    Window,
    build_analyses,
    unused_rows,
)
from extraction.pooling.groups import (
    COMPARISONS,
    GROUPS,
    ROLE_CLASS,
    Comparison,
    Group,
    normalised_label,
    propose_comparisons,
    study_comparisons,
    study_groups,
)
from extraction.pooling.rows import (
    BinaryArm,
    ContinuousArm,
    Entry,
    continuous_figures,
    days_from_label,
    study_species,
)
from extraction.pooling.values import CONTINUOUS_TABLES, DICHOTOMOUS_TABLES

__all__ = [
    "COMPARISONS",
    "CONTINUOUS_TABLES",
    "DICHOTOMOUS_TABLES",
    "GROUPS",
    "ROLE_CLASS",
    "Analysis",
    "BinaryArm",
    "Choices",
    "Comparison",
    "ContinuousArm",
    "Decision",
    "Entry",
    "Group",
    "Key",
    "StudyData",
    "Window",
    "build_analyses",
    "continuous_figures",
    "days_from_label",
    "normalised_label",
    "propose_comparisons",
    "study_comparisons",
    "study_groups",
    "study_species",
    "unused_rows",
]
