"""Running the SymPy phase under a deadline: in a helper process, killed when it overruns.

    analyse_with_deadline("sin(x) + y**2") -> ("ok", program), ("error", message) or ("unavailable", message)

Time. Static limits do not bound SymPy (symbolic.py tells how it once took 15 s, or for ever, on short inputs), so
the SymPy phase runs in a helper Python process, started once, which is killed (and restarted when next needed)
if an answer takes over ANALYSIS_SECONDS. "unavailable" means the helper could not run: worth another try later.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading

from .symbolic import analyse

ANALYSIS_SECONDS = 5.0  # the worst accepted inputs take well under a second


def analyse_with_deadline(expression: str) -> tuple:
    """analyse(expression) in the helper process, which is killed if the answer takes over ANALYSIS_SECONDS."""
    return _HELPER.ask(expression, ANALYSIS_SECONDS)


class _Helper:
    """A child Python process answering analyse questions, one JSON line each way.

    A fresh interpreter (not fork: the caller may have threads, as Streamlit has; not multiprocessing: it would
    re-run the caller's main script), started on first use and again after being killed for overrunning.
    Questions are asked one at a time: the app's sessions share it.
    """

    STARTUP_SECONDS = 60.0  # importing NumPy and SymPy on a slow machine; not part of the deadline

    def __init__(self):
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.answers: queue.Queue = queue.Queue()

    def ask(self, expression: str, seconds: float) -> tuple:
        if self.owner != os.getpid():  # a forked copy of the caller: the helper and its pipes are the parent's
            self.__init__()
        with self.lock:
            try:
                self._ensure_running()
                self.process.stdin.write(json.dumps(expression) + "\n")
                self.process.stdin.flush()
                answer = self.answers.get(timeout=seconds)
            except queue.Empty:
                self.stop()
                return "error", (f"the expression is too costly to analyse (over {seconds:g} seconds): "
                                 "try simplifying it")
            except OSError as error:
                self.stop()
                return "unavailable", f"the expression could not be analysed now (no helper process: {error})"
            if answer is None:  # the helper died: out of memory, or killed from outside
                self.stop()
                return "unavailable", "the expression could not be analysed now (the analysis stopped unexpectedly)"
            return tuple(answer)

    def _ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.answers = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
             "from optviz.custom.helper import serve; serve()", json.dumps(sys.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
        threading.Thread(target=_read_answers, args=(self.process.stdout, self.answers), daemon=True).start()
        try:
            ready = self.answers.get(timeout=self.STARTUP_SECONDS)
        except queue.Empty:
            ready = None
        if ready != "ready":
            self.stop()
            raise OSError("it did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            try:
                self.process.stdin.close()  # its stdout is closed by its reader, which now sees the end
            except OSError:  # a question still buffered for the dead process: nothing to do about it
                pass
            self.process = None


def _read_answers(stream, answers: queue.Queue) -> None:
    """The helper's answers, parsed, into the queue; None when it ends (a reader per helper process)."""
    with stream:
        try:
            for line in stream:
                answers.put(json.loads(line))
        except (OSError, ValueError):
            pass
    answers.put(None)


def serve() -> None:
    """The helper's main loop: an expression per line in, an analyse answer per line out."""
    out, sys.stdout = sys.stdout, sys.stderr  # nothing but answers may reach the parent's pipe
    out.write(json.dumps("ready") + "\n")
    out.flush()
    for line in sys.stdin:
        out.write(json.dumps(analyse(json.loads(line))) + "\n")
        out.flush()


_HELPER = _Helper()
atexit.register(_HELPER.stop)
