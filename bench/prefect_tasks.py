"""What a Prefect task costs pullfix's process, to choose the unit of a task (issue 12).

Runs N no-op tasks inside one flow, the way a sweep runs its clusters (sequentially and through
the ThreadPoolTaskRunner), against the Prefect server at ``$PREFECT_API_URL``, and prints the
CPU milliseconds per task (the whole process: the engine's states, events and parameter
visits, in every thread). A fleet sweep makes one task per cluster; a check is a task only
when it meets a transient error (tasks/runner.py).

    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/python bench/prefect_tasks.py [N]
"""

from __future__ import annotations

import sys
import time

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner


@task(cache_policy=NO_CACHE, persist_result=False)
def noop(i: int) -> int:
    return i


@flow(persist_result=False, task_runner=ThreadPoolTaskRunner(max_workers=8))  # type: ignore[arg-type]
def many(n: int, submit: bool) -> float:
    start = time.process_time()
    if submit:
        for f in [noop.submit(i) for i in range(n)]:
            f.result()
    else:
        for i in range(n):
            noop(i)
    return (time.process_time() - start) * 1000 / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    many(5, False)  # warm: imports, the flow run, the events client
    print(f"called in the flow: {many(n, False):.1f} ms CPU per task")
    print(f"submitted to 8 threads: {many(n, True):.1f} ms CPU per task")


if __name__ == "__main__":
    main()
