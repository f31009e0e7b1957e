"""The morning plan: rules x audiences -> tasks, with caps, capacity, quiet hours, catch-up, dedupe."""

from privdom.planner.build import build_plan, save_plan
from privdom.planner.history import SavedTask
from privdom.planner.models import BlockedTask, Candidate, DeferredTask, Plan, Task
from privdom.planner.triggers import candidates
from privdom.store.tasks import task_id

__all__ = [
    "BlockedTask",
    "Candidate",
    "DeferredTask",
    "Plan",
    "SavedTask",
    "Task",
    "build_plan",
    "candidates",
    "save_plan",
    "task_id",
]
