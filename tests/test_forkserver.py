"""The fork-server executor: real servers forking real small scripts.

Every test of ``test_executor.py`` also runs here against :class:`ForkServerExecutor` (one
executor shared by the test, closed after it); the tests below cover what only a long-lived
server can get wrong: state leaking between steps, a server dying, servers left behind.
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_executor as base
from test_executor import (
    HANGS_WITH_GRANDCHILD,
    cancel_when,
    gone_within,
    kill_quietly,
    make_request,
    wait_for_file,
    write_script,
)

from rtf.executor import (
    RESULT_NAME,
    TRUNCATION_NOTE,
    LocalExecutor,
    StepOutcome,
    StepRequest,
    default_executor,
)
from rtf.forkserver import FIFO_NAME, ForkServerExecutor

EXECUTOR_TESTS = sorted(
    name for name, value in vars(base).items() if name.startswith("test_") and callable(value)
)


@pytest.fixture
def executor() -> Iterator[ForkServerExecutor]:
    shared = ForkServerExecutor()
    try:
        yield shared
    finally:
        pids = shared.server_pids()
        shared.close()
        assert all(gone_within(pid) for pid in pids), "a fork server outlived close()"


@pytest.mark.parametrize("name", EXECUTOR_TESTS)
def test_executor_suite_on_the_fork_server(
    name: str,
    executor: ForkServerExecutor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    test: Callable[..., None] = getattr(base, name)
    monkeypatch.setattr(base, "LocalExecutor", lambda *args, **kwargs: executor)
    available: dict[str, Any] = {"tmp_path": tmp_path, "monkeypatch": monkeypatch}
    test(**{param: available[param] for param in inspect.signature(test).parameters})
    assert executor.fallbacks == 0


def run(executor: ForkServerExecutor, request: StepRequest) -> StepOutcome:
    return executor.run(request, threading.Event())


REPORTS_ITSELF = """
import os
import sys
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    Path(output_paths["out"]).write_text(repr({
        "ppid": os.getppid(),
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "sid": os.getsid(0),
        "cwd": os.getcwd(),
        "only_first": os.environ.get("ONLY_FIRST"),
        "marker_loaded": "rtf_marker_module" in sys.modules,
    }))
    if environ_vars.get("IMPORT_MARKER"):
        import rtf_marker_module  # noqa: F401
"""


def report_step(tmp_path: Path, n: int, **fields: Any) -> tuple[StepRequest, Path]:
    script = write_script(tmp_path / "scripts", "reports.py", REPORTS_ITSELF)
    write_script(tmp_path / "scripts", "rtf_marker_module.py", "LOADED = True\n")
    out = tmp_path / f"report{n}.txt"
    request = make_request(
        tmp_path,
        script,
        output_paths={"out": str(out)},
        workdir=tmp_path / "work" / f"s{n}",
        log_path=tmp_path / "logs" / f"s{n}.log",
        **fields,
    )
    return request, out


def read_report(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = eval(path.read_text())  # written by our own script
    return value


# --- isolation between steps in one server -------------------------------------------------


def test_consecutive_steps_share_a_server_but_not_env_modules_or_folder(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    first, out1 = report_step(tmp_path, 1, environ_vars={"ONLY_FIRST": "yes", "IMPORT_MARKER": "1"})
    second, out2 = report_step(tmp_path, 2)
    assert run(executor, first).exit_code == 0
    assert run(executor, second).exit_code == 0
    one, two = read_report(out1), read_report(out2)
    (server,) = executor.server_pids()
    assert one["ppid"] == two["ppid"] == server  # both forked by the same server
    assert one["pid"] != two["pid"]
    for step in (one, two):  # a session and a process group of its own
        assert step["pid"] == step["pgid"] == step["sid"]
    assert (one["only_first"], two["only_first"]) == ("yes", None)
    # step 1 imported the module after reporting; step 2 starts without it all the same
    assert two["marker_loaded"] is False
    assert one["cwd"] == str(tmp_path / "work" / "s1")
    assert two["cwd"] == str(tmp_path / "work" / "s2")
    assert not (tmp_path / "work" / "s1" / FIFO_NAME).exists()
    assert (tmp_path / "work" / "s1" / RESULT_NAME).is_file()


def test_a_script_changing_module_state_does_not_reach_the_next_step(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    spoils = write_script(
        tmp_path / "a",
        "spoils.py",
        """
        import json
        import os
        import sys


        def main(**kwargs):
            json.dumps = None
            sys.path.insert(0, "/nowhere")
            os.environ["LEAKED"] = "1"
            os.chdir("/")
        """,
    )
    checks = write_script(
        tmp_path / "b",
        "checks.py",
        """
        import json
        import os
        import sys
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path(output_paths["out"]).write_text(json.dumps(
                ["/nowhere" in sys.path, os.environ.get("LEAKED"), os.getcwd()]
            ))
        """,
    )
    out = tmp_path / "checks.json"
    assert run(executor, make_request(tmp_path, spoils)).exit_code == 0
    outcome = run(executor, make_request(tmp_path, checks, output_paths={"out": str(out)}))
    assert outcome.exit_code == 0
    assert out.read_text() == f'[false, null, "{tmp_path / "run" / "work" / "checks"}"]'


def test_interpreter_variables_get_a_server_of_their_own(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    write_script(extra, "only_on_pythonpath.py", "VALUE = 42\n")
    script = write_script(
        tmp_path / "scripts",
        "uses_path.py",
        """
        from pathlib import Path

        import only_on_pythonpath


        def main(input_paths, output_paths, environ_vars, job_args):
            Path(output_paths["out"]).write_text(str(only_on_pythonpath.VALUE))
        """,
    )
    plain, _ = report_step(tmp_path, 1)
    assert run(executor, plain).exit_code == 0
    out = tmp_path / "value.txt"
    request = make_request(
        tmp_path, script, output_paths={"out": str(out)}, environ_vars={"PYTHONPATH": str(extra)}
    )
    outcome = run(executor, request)
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert out.read_text() == "42"
    assert len(executor.server_pids()) == 2


# --- what a step sees and how it ends ------------------------------------------------------


def test_crash_location_in_main_and_cli_mode(executor: ForkServerExecutor, tmp_path: Path) -> None:
    write_script(tmp_path / "s", "helpers.py", "def pick(d):\n    return d['SIGNATURE']\n")
    main_script = write_script(
        tmp_path / "s",
        "train.py",
        "import helpers\n\n\ndef main(**kwargs):\n    helpers.pick({'ID': 0})\n",
    )
    cli_script = write_script(
        tmp_path / "s", "evaluate.py", "import sys\n\nx = 1\nraise RuntimeError(sys.argv[1:])\n"
    )
    outcome = run(executor, make_request(tmp_path, main_script))
    assert (outcome.ending, outcome.exit_code) == ("exited", 1)
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.location) == ("KeyError", "train.py:5")
    assert 'helpers.py", line 2' in (outcome.error.traceback or "")
    assert "KeyError: 'SIGNATURE'" in outcome.log_path.read_text()
    outcome = run(
        executor, make_request(tmp_path, cli_script, mode="cli", job_args={"split": "test"})
    )
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.location) == ("RuntimeError", "evaluate.py:4")
    assert outcome.error.message == "['--split', 'test']"
    assert "_launcher.py" not in (outcome.error.traceback or "")


def test_stdin_is_at_end_of_file(executor: ForkServerExecutor, tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "reads.py",
        """
        import sys
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path(output_paths["out"]).write_text(repr(sys.stdin.read()) + repr(input()))
        """,
    )
    out = tmp_path / "stdin.txt"
    outcome = run(executor, make_request(tmp_path, script, output_paths={"out": str(out)}))
    assert (outcome.ending, outcome.exit_code) == ("exited", 1)
    assert outcome.error is not None and outcome.error.type == "EOFError"
    assert not out.exists()


def test_timeout_kills_the_grandchild_and_the_server_serves_on(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    script = write_script(tmp_path, "hangs.py", HANGS_WITH_GRANDCHILD)
    pid_file = tmp_path / "grandchild.pid"
    request = make_request(tmp_path, script, timeout=0.5, environ_vars={"PID_FILE": str(pid_file)})
    outcome = run(executor, request)
    assert (outcome.ending, outcome.exit_code) == ("timed_out", -signal.SIGTERM)
    assert outcome.log_path.read_text().endswith(
        "[rtf: timed out; the step's processes were ended]\n"
    )
    grandchild = int(wait_for_file(pid_file, seconds=0.1))
    try:
        assert gone_within(grandchild)
    finally:
        kill_quietly(grandchild)
    servers = executor.server_pids()
    after, out = report_step(tmp_path, 1)
    assert run(executor, after).exit_code == 0
    assert read_report(out)["ppid"] in servers
    assert executor.fallbacks == 0


def test_cancel_ends_the_step_group(executor: ForkServerExecutor, tmp_path: Path) -> None:
    script = write_script(tmp_path, "hangs.py", HANGS_WITH_GRANDCHILD)
    pid_file = tmp_path / "grandchild.pid"
    cancel = threading.Event()
    when: list[float] = []
    cancel_when(pid_file, cancel, when)
    request = make_request(tmp_path, script, environ_vars={"PID_FILE": str(pid_file)})
    outcome = executor.run(request, cancel)
    assert (outcome.ending, outcome.exit_code) == ("interrupted", -signal.SIGTERM)
    assert time.monotonic() - when[0] < 5.0
    grandchild = int(pid_file.read_text())
    try:
        assert gone_within(grandchild)
    finally:
        kill_quietly(grandchild)


def test_output_flood_is_capped(executor: ForkServerExecutor, tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "floods.py",
        """
        import sys


        def main(**kwargs):
            for _ in range(4 * 1024):
                sys.stdout.write("y" * 1023 + "\\n")
                sys.stderr.write("e" * 1023 + "\\n")
        """,
    )
    cap = 256 * 1024
    outcome = run(executor, make_request(tmp_path, script, max_log_bytes=cap))
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert outcome.log_bytes_dropped == 8 * 1024 * 1024 - cap
    log = outcome.log_path.read_bytes()
    assert len(log) == cap + len(TRUNCATION_NOTE) and log.endswith(TRUNCATION_NOTE)


def test_threads_and_atexit_of_a_script_run_before_the_step_ends(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path,
        "lingers.py",
        """
        import atexit
        import threading
        import time


        def main(**kwargs):
            atexit.register(print, "atexit ran")
            threading.Thread(target=lambda: (time.sleep(0.2), print("thread done"))).start()
        """,
    )
    outcome = run(executor, make_request(tmp_path, script))
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert outcome.log_path.read_text() == "thread done\natexit ran\n"


# --- servers failing, ending, and staying out of Ctrl-C -------------------------------------


def test_a_dead_server_means_one_local_step_then_a_new_server(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    first, _ = report_step(tmp_path, 1)
    assert run(executor, first).exit_code == 0
    (old_server,) = executor.server_pids()
    os.kill(old_server, signal.SIGKILL)
    assert gone_within(old_server)
    second, out2 = report_step(tmp_path, 2)
    outcome = run(executor, second)
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert executor.fallbacks == 1
    assert read_report(out2)["ppid"] != old_server
    assert executor.server_pids() == []
    third, out3 = report_step(tmp_path, 3)
    assert run(executor, third).exit_code == 0
    (new_server,) = executor.server_pids()
    assert new_server != old_server and read_report(out3)["ppid"] == new_server
    assert executor.fallbacks == 1


def test_a_server_dying_mid_step_fails_the_step_and_ends_its_group(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    script = write_script(tmp_path, "hangs.py", HANGS_WITH_GRANDCHILD)
    pid_file = tmp_path / "grandchild.pid"

    def kill_server() -> None:
        wait_for_file(pid_file)
        for pid in executor.server_pids():
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_server, daemon=True)
    killer.start()
    outcome = run(
        executor, make_request(tmp_path, script, environ_vars={"PID_FILE": str(pid_file)})
    )
    killer.join(5)
    assert outcome.ending == "launch_failed"
    assert outcome.error is not None and "fork server" in outcome.error.message
    grandchild = int(pid_file.read_text())
    try:
        assert gone_within(grandchild)
    finally:
        kill_quietly(grandchild)
    assert executor.server_pids() == []


def test_servers_ignore_ctrl_c_and_all_end_at_close(tmp_path: Path) -> None:
    executor = ForkServerExecutor()
    started = threading.Barrier(3)
    script = write_script(
        tmp_path,
        "waits.py",
        "import time\n\n\ndef main(**kwargs):\n    time.sleep(0.3)\n",
    )

    def one(n: int) -> None:
        started.wait(10)
        request = make_request(
            tmp_path, script, workdir=tmp_path / f"w{n}", log_path=tmp_path / f"{n}.log"
        )
        assert run(executor, request).exit_code == 0

    threads = [threading.Thread(target=one, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    started.wait(10)
    for thread in threads:
        thread.join(30)
    servers = executor.server_pids()
    assert len(servers) == 1  # one server runs both steps at once
    for pid in servers:
        os.kill(pid, signal.SIGINT)
    check, out = report_step(tmp_path, 1)
    assert run(executor, check).exit_code == 0
    assert read_report(out)["ppid"] in servers
    executor.close()
    assert executor.server_pids() == []
    assert all(gone_within(pid) for pid in servers)
    # closing does not end the executor: the next step starts a new server
    again, _ = report_step(tmp_path, 2)
    assert run(executor, again).exit_code == 0
    assert len(executor.server_pids()) == 1
    executor.close()


HOLDS_UNTIL_RELEASED = """
import os
import subprocess
import sys
import time
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    if environ_vars.get("GRANDCHILD"):  # one more process in the step's group
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    Path(output_paths["out"]).write_text(repr({
        "ppid": os.getppid(), "pid": os.getpid(), "pgid": os.getpgid(0),
        "sid": os.getsid(0), "cwd": os.getcwd(), "mine": os.environ.get("MINE"),
    }))
    Path(environ_vars["READY"]).write_text(str(os.getpid()))
    while not Path(environ_vars["RELEASE"]).exists():
        time.sleep(0.01)
"""


def holding_step(
    tmp_path: Path, n: int, grandchild: bool = False
) -> tuple[StepRequest, Path, Path]:
    script = write_script(tmp_path / "scripts", "holds.py", HOLDS_UNTIL_RELEASED)
    out, ready = tmp_path / f"held{n}.txt", tmp_path / f"ready{n}"
    request = make_request(
        tmp_path,
        script,
        output_paths={"out": str(out)},
        environ_vars={
            "MINE": str(n),
            "READY": str(ready),
            "RELEASE": str(tmp_path / "go"),
            "GRANDCHILD": "1" if grandchild else "",
        },
        workdir=tmp_path / "work" / f"h{n}",
        log_path=tmp_path / "logs" / f"h{n}.log",
    )
    return request, out, ready


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def run_in_threads(
    executor: ForkServerExecutor, requests: list[StepRequest]
) -> tuple[list[threading.Thread], dict[int, StepOutcome]]:
    outcomes: dict[int, StepOutcome] = {}

    def one(n: int) -> None:
        outcomes[n] = run(executor, requests[n])

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_one_server_runs_two_steps_at_once(executor: ForkServerExecutor, tmp_path: Path) -> None:
    steps = [holding_step(tmp_path, n) for n in range(2)]
    threads, outcomes = run_in_threads(executor, [request for request, _, _ in steps])
    for _, _, ready in steps:  # both are running at the same time
        wait_for_file(ready)
    (server,) = executor.server_pids()
    (tmp_path / "go").touch()
    for thread in threads:
        thread.join(30)
    assert [(outcomes[n].ending, outcomes[n].exit_code) for n in range(2)] == [("exited", 0)] * 2
    one, two = (read_report(out) for _, out, _ in steps)
    assert one["ppid"] == two["ppid"] == server
    assert one["pid"] != two["pid"]
    for n, step in enumerate((one, two)):
        assert step["pid"] == step["pgid"] == step["sid"]
        assert step["mine"] == str(n)
        assert step["cwd"] == str(tmp_path / "work" / f"h{n}")
    assert executor.fallbacks == 0
    assert executor.server_pids() == [server]


def test_a_server_killed_under_two_steps_fails_both_then_a_new_one_serves(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    steps = [holding_step(tmp_path, n, grandchild=True) for n in range(2)]
    threads, outcomes = run_in_threads(executor, [request for request, _, _ in steps])
    step_pids = [int(wait_for_file(ready)) for _, _, ready in steps]
    (server,) = executor.server_pids()
    members = {pid: group_members(pid) for pid in step_pids}
    assert all(len(group) == 2 for group in members.values())  # the step and its grandchild
    os.kill(server, signal.SIGKILL)
    for thread in threads:
        thread.join(30)
    try:
        for n in range(2):
            assert outcomes[n].ending == "launch_failed"
            assert outcomes[n].error is not None and "fork server" in outcomes[n].error.message
        # the steps and everything in their groups are gone (zombies left to init count)
        assert all(gone_within(pid) for group in members.values() for pid in group)
        assert all(group_members(pid) == [] for pid in step_pids)
    finally:
        for pid in [pid for group in members.values() for pid in group]:
            kill_quietly(pid)
    assert executor.server_pids() == []
    after, out = report_step(tmp_path, 9)
    assert run(executor, after).exit_code == 0
    (new_server,) = executor.server_pids()
    assert new_server != server and read_report(out)["ppid"] == new_server
    assert executor.fallbacks == 0


def test_missing_python_falls_back_to_the_local_message(
    executor: ForkServerExecutor, tmp_path: Path
) -> None:
    script = write_script(tmp_path, "fine.py", "def main(**kwargs):\n    pass\n")
    missing = str(tmp_path / "nope" / "python")
    outcome = run(executor, make_request(tmp_path, script, python=missing))
    assert outcome.ending == "launch_failed"
    assert outcome.error is not None
    assert outcome.error.message == f"cannot start {missing}: No such file or directory"


def test_default_executor_and_the_local_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTF_EXECUTOR", raising=False)
    assert isinstance(default_executor(), ForkServerExecutor)
    monkeypatch.setenv("RTF_EXECUTOR", "local")
    assert type(default_executor()) is LocalExecutor
    monkeypatch.setenv("RTF_EXECUTOR", " Local ")
    assert type(default_executor()) is LocalExecutor


def test_the_server_leaves_with_its_parent(tmp_path: Path) -> None:
    """No server outlives rtf: end of input (rtf exiting, however it exits) ends the server."""
    code = (
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from rtf.forkserver import ForkServerExecutor\n"
        "from test_executor import make_request, write_script\n"
        f"tmp = Path({str(tmp_path)!r})\n"
        "script = write_script(tmp, 'ok.py', 'def main(**kwargs):\\n    pass\\n')\n"
        "executor = ForkServerExecutor()\n"
        "assert executor.run(make_request(tmp, script), threading.Event()).exit_code == 0\n"
        "print(executor.server_pids()[0], flush=True)\n"
        "import os; os._exit(0)  # no close(), no clean-up of any kind\n"
    )
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(base.__file__).parent)]))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert gone_within(int(proc.stdout.strip()))


def test_ctrl_c_on_rtf_run_leaves_no_server_and_no_step_behind(tmp_path: Path) -> None:
    import subprocess

    from test_run_e2e import write_spec

    pid_file = tmp_path / "slow.pid"
    write_script(
        tmp_path / "scripts",
        "slow.py",
        f"""
        import os
        import time
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path({str(pid_file)!r}).write_text(f"{{os.getpid()}} {{os.getppid()}}")
            time.sleep(120)
        """,
    )
    spec = write_spec(tmp_path, {"slow": {"script_path": "scripts/slow.py"}})
    env = {k: v for k, v in os.environ.items() if k != "RTF_EXECUTOR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtf", "run", "--spec", str(spec)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "NO_COLOR": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pids: list[int] = []
    try:
        pids = [int(p) for p in wait_for_file(pid_file).split()]
        step, server = pids
        assert server != proc.pid  # the step was forked by a server, not started by rtf
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 130, stderr
        assert gone_within(step), "a step outlived rtf"
        assert gone_within(server), "a fork server outlived rtf"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:
            kill_quietly(pid)
