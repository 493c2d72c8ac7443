"""The trial processes of a run: created trials wait in a queue; at most `parallelTrialCount`
run at once, each in its own process group (`processes.RunningTrial`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from katib_enas.local.processes import RunningTrial


@dataclass
class Finished:
    name: str
    exit_code: int | None  # None: the process ended without leaving an exit status
    process: RunningTrial


@dataclass
class Scheduler:
    parallel: int
    queue: list[str] = field(default_factory=list)  # created, not started, in creation order
    running: dict[str, RunningTrial] = field(default_factory=dict)

    @property
    def active(self) -> int:
        """Trials created or running: what Katib counts against `parallelTrialCount`."""
        return len(self.queue) + len(self.running)

    def next_to_start(self) -> str | None:
        if self.queue and len(self.running) < self.parallel:
            return self.queue.pop(0)
        return None

    def reap(self) -> list[Finished]:
        """The trials whose process ended (or timed out) since the last call."""
        finished = []
        for name, process in list(self.running.items()):
            if process.poll():
                del self.running[name]
                finished.append(Finished(name, process.exit_code, process))
        return finished

    def stop(self, name: str) -> RunningTrial:
        """Kill one running trial's process group and take it off the running list."""
        process = self.running.pop(name)
        process.kill()
        return process

    def kill_all(self) -> tuple[list[str], list[str]]:
        """Kill every running trial's process group; (killed running, dropped queued)."""
        running = list(self.running)
        for process in self.running.values():
            process.kill()
        self.running.clear()
        queued, self.queue = self.queue, []
        return running, queued
