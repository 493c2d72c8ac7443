"""What `--resume` does with each trial the interrupted run left unfinished.

The run store says which trials were Created or Running and, for each started one, which
process ran it (pid and start time, recorded before the trial could run; see `processes`). The
runner may have ended cleanly (Ctrl-C, SIGTERM: it killed its trials) or been killed outright
(`kill -9`: its trials ran on). So, per trial:

- Created, or Running with no process recorded: it never ran (a waiter that was not given the
  go-ahead exits by itself); it runs now.
- its process still runs: the resumed runner follows it to its end, its timeout counted from
  its recorded start, its early-stopping rule applied again from its first report;
- its process ended with an exit status: it is concluded from that status and its outputs, as
  if the runner had been there;
- its process ended without one (killed with its process group): it runs again.

Push trials report to a DB manager inside the runner, so one that outlived its runner lost that
connection: if still running it is killed and runs again, and if it ended, only a clean exit
(status 0, every report accepted) is concluded; otherwise it runs again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from katib_enas.core.katib import Condition
from katib_enas.local.launch import Launch
from katib_enas.local.processes import AttachedTrial, alive, read_exit_status
from katib_enas.local.store import Store, StoredTrial


@dataclass
class Recovery:
    """Unfinished trials sorted out: to run (again), in creation order, or to follow/conclude."""

    queue: list[str] = field(default_factory=list)
    attached: dict[str, AttachedTrial] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)  # Push trials whose runner was gone


def recover(
    trials: Sequence[StoredTrial],
    store: Store,
    launch_of: Callable[[StoredTrial], Launch],
    *,
    push: bool,
) -> Recovery:
    """Sort out the Created and Running `trials` of an interrupted run (module docstring)."""
    found = Recovery()
    for trial in trials:
        if trial.condition not in (Condition.CREATED, Condition.RUNNING):
            continue
        record = store.process(trial.name) if trial.condition is Condition.RUNNING else None
        if record is None:
            found.queue.append(trial.name)
            continue
        launch = launch_of(trial)
        process = AttachedTrial(launch, record, reattached=True)
        running = alive(record.pid, record.identity)
        status = None if running else read_exit_status(launch.cwd)
        if push and (running or status != 0):
            if running:
                process.kill()
                found.killed.append(trial.name)
            found.queue.append(trial.name)
        elif running or status is not None:
            found.attached[trial.name] = process
        else:
            found.queue.append(trial.name)
    return found
