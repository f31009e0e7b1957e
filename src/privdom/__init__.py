"""privdom: private-domain community operations, planned from the command line or from Python.

    import privdom
    ws = privdom.Workspace("brand")        # the folder `privdom init` made
    plan = ws.plan(datetime.date(2026, 11, 23))

Everything public is named in `__all__`; every other module and name is private to the package.
"""

__version__ = "0.1.0"

from privdom.api import Workspace  # noqa: E402 - the version first: the command line reads it alone
from privdom.errors import PrivdomError  # noqa: E402
from privdom.ingest import ImportReport  # noqa: E402
from privdom.metrics import MemberProfile  # noqa: E402
from privdom.planner import DeferredTask, Plan, SavedTask, Task  # noqa: E402
from privdom.planner.forecast import UpcomingTask  # noqa: E402
from privdom.records import Member  # noqa: E402
from privdom.schedule import Post, Schedule  # noqa: E402
from privdom.segments import ClassShare, Distribution  # noqa: E402

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
