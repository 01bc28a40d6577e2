"""Memory and CPU time of a process, from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def memory_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM). Unlike getrusage's ru_maxrss,
    VmHWM is not inherited from the parent across fork and exec."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
