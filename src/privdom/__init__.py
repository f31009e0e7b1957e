"""privdom: private-domain community operations, planned from the command line or from Python.

    import privdom
    ws = privdom.Workspace("brand")        # the folder `privdom init` made
    plan = ws.plan(datetime.date(2026, 11, 23))

Everything public is named in `__all__`; every other module and name is private to the package.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

# The public names come from their modules when first used: a command is a process of its own, and
# importing every part of privdom to print one plan would add a tenth of a second to each.
_PUBLIC = {
    "Workspace": "privdom.api",
    "PrivdomError": "privdom.errors",
    "ImportReport": "privdom.ingest",
    "MemberProfile": "privdom.metrics",
    "DeferredTask": "privdom.planner",
    "Plan": "privdom.planner",
    "SavedTask": "privdom.planner",
    "Task": "privdom.planner",
    "UpcomingTask": "privdom.planner.forecast",
    "Member": "privdom.records",
    "Post": "privdom.schedule",
    "Schedule": "privdom.schedule",
    "ClassShare": "privdom.segments",
    "Distribution": "privdom.segments",
}

if TYPE_CHECKING:
    from privdom.api import Workspace
    from privdom.errors import PrivdomError
    from privdom.ingest import ImportReport
    from privdom.metrics import MemberProfile
    from privdom.planner import DeferredTask, Plan, SavedTask, Task
    from privdom.planner.forecast import UpcomingTask
    from privdom.records import Member
    from privdom.schedule import Post, Schedule
    from privdom.segments import ClassShare, Distribution


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'privdom' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "ClassShare",
    "DeferredTask",
    "Distribution",
    "ImportReport",
    "Member",
    "MemberProfile",
    "Plan",
    "Post",
    "PrivdomError",
    "SavedTask",
    "Schedule",
    "Task",
    "UpcomingTask",
    "Workspace",
    "__version__",
]
