"""The draft's checklist: what only the author can add, asked once per project and fact."""

from __future__ import annotations

from schema.projections.models import ChecklistItem
from schema.projections.reviewed import ReviewedProject

__all__ = ["checklist"]


class _Questions:
    """The items asked so far, each (kind, project, text) once, in the order first asked."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], ChecklistItem] = {}

    def ask(self, kind: str, text: str, project: ReviewedProject, event_ids: list[str]) -> None:
        item = ChecklistItem(kind=kind, text=text, project_id=project.id, event_ids=event_ids)  # type: ignore[arg-type]
        self.items.setdefault((kind, project.id, text), item)


def checklist(projects: list[ReviewedProject]) -> list[ChecklistItem]:
    questions = _Questions()
    for project in projects:
        _about_the_project(questions, project)
        _about_its_metrics(questions, project)
        _about_its_chains(questions, project)
    return list(questions.items.values())


def _shipped(project: ReviewedProject) -> bool:
    return project.category in ("shipped_with_outcome", "shipped")


def _about_the_project(questions: _Questions, project: ReviewedProject) -> None:
    name = project.name
    if project.category == "technical_milestone":
        questions.ask(
            "never_shipped",
            f"{name} has no deployment recorded, so it reads as a technical milestone: if it did ship, "
            "record the deployed milestone with its date",
            project,
            [e.id for e in project.milestones] or [e.id for e in project.started],
        )
    shipped = _shipped(project)
    if shipped and "business" not in project.layers and project.deploy is not None:
        questions.ask(
            "no_business_metric",
            f"{name} shipped but has no business metric: record the outcome it moved "
            "(revenue, cost, hours saved) with winledger metric --layer business",
            project,
            [project.deploy.id],
        )
    if shipped and not project.adopted and not project.decisions and project.deploy is not None:
        questions.ask(
            "no_user",
            f"Who uses {name}, and for what decision? Record it with winledger feedback --decision, "
            "or the adopted milestone",
            project,
            [project.deploy.id],
        )
    if project.category == "scope_reduction" and not any(n.kind == "learned" for n in project.learnings):
        questions.ask(
            "no_saving",
            f"What did stopping {name} save (time, spend, a direction not reopened)? "
            "Record it with winledger learned --project",
            project,
            [e.id for e in project.abandoned or project.concluded],
        )


def _about_its_metrics(questions: _Questions, project: ReviewedProject) -> None:
    shipped = _shipped(project)
    for metric, line in project.lines:
        attributable = shipped and metric.layer == "business" and line.claimable
        if attributable and metric.key not in project.attribution:
            questions.ask(
                "not_attributed",
                f"{metric.label}: record how it was attributed to the work (an A/B test, a before/after "
                "comparison...) with winledger link",
                project,
                [line.source_id],
            )
        if not line.claimable:
            questions.ask(
                "interval_too_wide",
                f"{metric.label} is left out of the claims: {line.reason}",
                project,
                [line.source_id],
            )
        if not metric.labelled:
            questions.ask(
                "no_label",
                f"The metric {metric.key} has no label, so the draft calls it “{metric.label}”: "
                "give it one with --label the next time you record it",
                project,
                [line.source_id],
            )


def _about_its_chains(questions: _Questions, project: ReviewedProject) -> None:
    if _shipped(project) and "business" in project.layers:
        labels = {m.key: m.label for m in project.model.chains.metrics}
        for chain in project.model.chains.chains:
            if chain.complete or chain.layers[0] != "model":
                continue
            questions.ask(
                "chain_incomplete",
                f"The chain {' → '.join(f'“{labels.get(key, key)}”' for key in chain.keys)} stops at the "
                f"{chain.layers[-1] or 'an unrecorded'} layer: "
                "link it to the business metric it moves with winledger link",
                project,
                chain.link_ids
                or [m.latest.id for m in project.model.chains.metrics if m.key == chain.keys[0]],
            )
