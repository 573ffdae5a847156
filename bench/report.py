"""Recording benchmark figures: one Markdown and one JSON file per run.

Machines here are noisy, so every figure is the median of several rounds taken
in one run, and goals are judged on those medians (and on ratios between
figures of the same run, which noise affects far less).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass
class Figure:
    """One measured quantity: the median of its rounds, and its goal if it has one."""

    name: str
    unit: str
    rounds: list[float]
    at_least: float | None = None
    at_most: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def goal(self) -> str:
        if self.at_least is not None:
            return f">= {self.at_least:,g}"
        if self.at_most is not None:
            return f"<= {self.at_most:,g}"
        return ""

    @property
    def met(self) -> bool | None:
        if self.at_least is not None:
            return self.median >= self.at_least
        if self.at_most is not None:
            return self.median <= self.at_most
        return None


@dataclass
class Run:
    """Everything one `make bench` measured, with where and when."""

    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    machine: dict[str, str] = field(default_factory=lambda: machine())
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        verdict = f"(goal {figure.goal}: {_verdict(figure)})" if figure.goal else ""
        print(f"  {figure.name}: {figure.median:,.2f} {figure.unit} {verdict}", flush=True)

    def write(self, name: str) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = f"{self.started[:10]}-{name}-{self.machine['hostname']}"
        data = asdict(self)
        for fig, raw in zip(self.figures, data["figures"], strict=True):
            raw.update(median=fig.median, goal=fig.goal, met=fig.met)
        (RESULTS / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
        lines = [
            f"# {name} — {self.started}",
            "",
            "Machine: " + ", ".join(f"{k} {v}" for k, v in self.machine.items()),
            "",
            "| figure | median | unit | rounds | goal | met |",
            "|---|---:|---|---|---|---|",
        ]
        for fig in self.figures:
            rounds = ", ".join(f"{r:,.2f}" for r in fig.rounds)
            lines.append(
                f"| {fig.name} | {fig.median:,.2f} | {fig.unit} | {rounds} | {fig.goal} "
                f"| {_verdict(fig)} |"
            )
        lines.extend(["", *self.notes] if self.notes else [])
        path = RESULTS / f"{stem}.md"
        path.write_text("\n".join(lines) + "\n")
        return path


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "yes" if figure.met else "NO"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "hostname": socket.gethostname(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
