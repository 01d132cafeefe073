"""Meta-analysis: effect sizes, pooling, and the pictures of them.

Pure code: give it each study's groups and it returns per-study effects, the pooled estimate
with its heterogeneity statistics, and forest or time-course plots as SVG or PNG bytes.
Nothing here touches the database; services persist what it computes. Every number is
computed as R's metafor computes it with its defaults, and the tests check that against
metafor itself. The formulas and their sources are in ``docs/synthesis.md`` and in each
module's docstring:

- ``effects``: continuous arms, Hedges' g, combining and splitting groups;
- ``estimators``: τ² by REML, DerSimonian-Laird and Paule-Mandel;
- ``pooling``: the random-effects model and the result types;
- ``binary``: risk and odds ratios, Mantel-Haenszel and inverse variance;
- ``forest`` and ``time_course``: the plots (matplotlib enters only through them).

Every failure is a ``SynthesisError`` whose message a reviewer can act on; no input makes
anything here raise another exception.
"""

from extraction.synthesis.binary import (
    BinaryArm,
    BinaryComparison,
    combine_binary_arms,
    log_ratio,
    meta_analyse_binary,
    split_shared_binary_control,
)
from extraction.synthesis.effects import (
    Arm,
    StudyComparison,
    combine_arms,
    hedges_g,
    split_shared_control,
)
from extraction.synthesis.forest import forest_figure, forest_plot
from extraction.synthesis.numbers import SynthesisError
from extraction.synthesis.pooling import (
    MEASURES,
    METHODS,
    EffectEstimate,
    Measure,
    MetaAnalysis,
    Method,
    StudyEffect,
    meta_analyse,
    pool_effects,
)
from extraction.synthesis.time_course import (
    TimePoint,
    TimeSeries,
    time_course_figure,
    time_course_plot,
)

__all__ = [
    "MEASURES",
    "METHODS",
    "Measure",
    "Method",
    "Arm",
    "BinaryArm",
    "BinaryComparison",
    "EffectEstimate",
    "MetaAnalysis",
    "StudyComparison",
    "StudyEffect",
    "SynthesisError",
    "TimePoint",
    "TimeSeries",
    "combine_arms",
    "combine_binary_arms",
    "forest_figure",
    "forest_plot",
    "hedges_g",
    "log_ratio",
    "meta_analyse",
    "meta_analyse_binary",
    "pool_effects",
    "split_shared_binary_control",
    "split_shared_control",
    "time_course_figure",
    "time_course_plot",
]
