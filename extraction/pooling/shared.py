"""Several arms sharing one control in an analysis: split the control or combine the arms
(Cochrane Handbook, section 23.3.4)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from extraction.pooling.rows import BinaryArm, ContinuousArm, Entry


def shared_controls(multi_arm: str, notes: list[str], study: str, found: list) -> list[Entry]:
    """One study's comparisons in one analysis, with shared controls split or arms combined."""
    by_control: dict[str, list] = defaultdict(list)
    for item in found:
        by_control[item[0].control.label].append(item)
    entries = []
    for control_label, items in by_control.items():
        if len(items) == 1:
            comparison, t_arm, c_arm, note = items[0]
            entries.append(Entry(study, comparison.label, t_arm, c_arm, note))
            continue
        names = ", ".join(item[0].treatment.label for item in items)
        if multi_arm == "combine":
            t_arm = _combine([item[1] for item in items])
            comparison, _, c_arm, note = items[0]
            text = f"arms {names} combined into one group against the shared {control_label}"
            entries.append(
                Entry(
                    study,
                    f"{' + '.join(i[0].treatment.label for i in items)} vs {control_label}",
                    t_arm,
                    c_arm,
                    f"{note}; {text}",
                )
            )
            notes.append(f"{study}: {text} (Cochrane Handbook 23.3.4).")
        else:
            parts = len(items)
            text = f"the shared {control_label} split {parts} ways among {names}"
            for comparison, t_arm, c_arm, note in items:
                entries.append(
                    Entry(study, comparison.label, t_arm, _split(c_arm, parts), f"{note}; {text}")
                )
            notes.append(f"{study}: {text} (Cochrane Handbook 23.3.4).")
    return entries


def _split(arm, parts: int):
    """The control's n (and events) divided among the comparisons that share it, by the
    synthesis module's `split_shared_control` (or `split_shared_binary_control`). Imported
    here, not at start-up: the synthesis module brings the statistics and plotting
    libraries, which the extraction form never needs."""
    from extraction import synthesis

    if isinstance(arm, BinaryArm):
        split = synthesis.split_shared_binary_control(
            synthesis.BinaryArm(events=arm.events, n=arm.n), parts
        )
        return dataclasses.replace(
            arm, events=split.events, n=split.n, n_reported=arm.n, events_reported=arm.events
        )
    split = synthesis.split_shared_control(synthesis.Arm(n=arm.n, mean=arm.mean, sd=arm.sd), parts)
    return dataclasses.replace(arm, n=split.n, n_reported=arm.n)


def _combine(arms: Sequence):
    """Arms pooled into one group by the synthesis module's `combine_arms` (Cochrane Handbook
    table 6.5.a) or `combine_binary_arms` (sums)."""
    from extraction import synthesis

    label = " + ".join(arm.group for arm in arms)
    source = "; ".join(a.source for a in arms if a.source)
    if isinstance(arms[0], BinaryArm):
        joined = synthesis.combine_binary_arms(
            *(synthesis.BinaryArm(events=a.events, n=a.n) for a in arms)
        )
        return BinaryArm(label, joined.events, joined.n, source, arms[0].days)
    joined = synthesis.combine_arms(*(synthesis.Arm(n=a.n, mean=a.mean, sd=a.sd) for a in arms))
    how = "combined from " + "; ".join(f"{a.group}: {a.how}" for a in arms)
    return ContinuousArm(label, joined.n, joined.mean, joined.sd, how, source, arms[0].days)
