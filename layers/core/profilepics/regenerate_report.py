"""What a regeneration run did to each picture, and the report an operator reads of a run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    UP_TO_DATE = "up_to_date"
    REGENERATED = "regenerated"
    SKIPPED = "skipped"  # processing (its run uses the current settings) or failed
    SUPERSEDED = "superseded"  # replaced or deleted meanwhile
    FAILED = "failed"


@dataclass
class RegenerateReport:
    dry_run: bool
    pictures: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    made: int = 0  # objects written (to write, on a dry run)
    retired: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    complete: bool = True  # False: stopped early, to be resumed from next_cursor
    next_cursor: str | None = None  # None: from the first page

    def lines(self) -> list[str]:
        verb = "to regenerate (dry run, nothing written)" if self.dry_run else "regenerated"
        done = [
            f"pictures: {self.pictures}; {verb}: {self.outcomes[Outcome.REGENERATED]}; up to "
            f"date: {self.outcomes[Outcome.UP_TO_DATE]}; skipped (processing or failed): "
            f"{self.outcomes[Outcome.SKIPPED]}; replaced meanwhile: "
            f"{self.outcomes[Outcome.SUPERSEDED]}; failed: {self.outcomes[Outcome.FAILED]}",
            f"variants {'to make' if self.dry_run else 'made'}: {self.made}; old objects "
            f"{'to retire' if self.dry_run else 'retired'}: {self.retired} (the sweep deletes "
            "them once the URLs handed out for them have expired)",
        ]
        if self.errors:
            done.append("errors: " + ", ".join(f"{c} {n}" for c, n in sorted(self.errors.items())))
        if not self.complete:
            where = f"cursor {self.next_cursor}" if self.next_cursor else "the first page"
            done.append(f"stopped early: run it again from {where} to resume")
        return done

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "pictures": self.pictures,
            "outcomes": dict(self.outcomes),
            "made": self.made,
            "retired": self.retired,
            "errors": dict(self.errors),
            "complete": self.complete,
            "next_cursor": self.next_cursor,
        }
