"""The trial processes of a run: created trials wait in a queue; at most `parallelTrialCount`
run at once, each in its own process group (`launch.TrialProcess`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from katib_enas.local.launch import TrialProcess


@dataclass
class Finished:
    name: str
    exit_code: int
    process: TrialProcess


@dataclass
class Scheduler:
    parallel: int
    queue: list[str] = field(default_factory=list)  # created, not started, in creation order
    running: dict[str, TrialProcess] = field(default_factory=dict)

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
            code = process.poll()
            if code is not None:
                del self.running[name]
                finished.append(Finished(name, code, process))
        return finished

    def kill_all(self) -> tuple[list[str], list[str]]:
        """Kill every running trial's process group; (killed running, dropped queued)."""
        running = list(self.running)
        for process in self.running.values():
            process.kill()
        self.running.clear()
        queued, self.queue = self.queue, []
        return running, queued
