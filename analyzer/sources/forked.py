"""Forked child processes that read for the caller and send it what they read over a pipe.

Used by the mailbox reader (byte ranges read by workers) and the log reader (blocks read
ahead). Fork only: a child must not re-import the caller's program, as ``spawn`` would. The
child ignores Ctrl-C (it reaches the whole process group; the caller handles it and stops the
child). An exception in the child reaches the caller as the text of its traceback, since not
every exception can be pickled; a caller that stops reading ends the child by the broken
pipe. Memory stays bounded: a child waits while its pipe is full.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import platform
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any


@dataclass(frozen=True, slots=True)
class _Failure:
    """An exception in the child, as text.

    Attributes:
        text: its traceback.
    """

    text: str


@dataclass(slots=True)
class Child:
    """The caller's end of one child process.

    Attributes:
        conn: what the child sends arrives here.
        process: the child.
        what: what it does, for error messages (``reading the logs``).
    """

    conn: Connection
    process: BaseProcess
    what: str

    def poll(self) -> bool:
        """Whether a message is waiting."""
        return self.conn.poll()

    def recv(self) -> Any:
        """The next message; the child's failure, or its end before it finished, is raised
        here as a ``RuntimeError``."""
        try:
            message = self.conn.recv()
        except EOFError:
            code = self.process.exitcode
            raise RuntimeError(
                f"{self.what}: the process ended without finishing (exit code {code})"
            ) from None
        if isinstance(message, _Failure):
            raise RuntimeError(f"{self.what} failed: {message.text}")
        return message

    def stop(self) -> None:
        """Close the pipe (a child still sending ends) and wait for the child."""
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def start(target: Callable[..., None], args: tuple[Any, ...], what: str) -> Child:
    """A forked child running ``target(send, *args)``, where ``send`` is its end of the pipe."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(target, send, receive, args), daemon=True)
    process.start()
    send.close()
    return Child(receive, process, what)


def can_fork() -> bool:
    """Whether this platform can start such children."""
    return "fork" in multiprocessing.get_all_start_methods()


def _run(
    target: Callable[..., None], send: Connection, receive: Connection, args: tuple[Any, ...]
) -> None:
    # the caller's end, copied by the fork: closed, so that the pipe breaks when the caller
    # closes its own (else a child would wait on a full pipe until it is terminated)
    receive.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    try:
        target(send, *args)
    except BrokenPipeError:
        pass  # the caller stopped reading (it failed or was interrupted)
    except Exception:  # the one boundary of a child: hand the failure to the caller
        send.send(_Failure(traceback.format_exc()))
    finally:
        send.close()


# glibc's mallopt parameters (malloc.h) and the values a reading child takes
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_TUNING = (
    (_M_MMAP_THRESHOLD, 256 << 20),
    (_M_TRIM_THRESHOLD, 1 << 30),
    (_M_TOP_PAD, 64 << 20),
)


def keep_freed_memory() -> bool:
    """In a child: glibc's allocator keeps the memory freed for reuse instead of giving it
    back to the system at once; whether it could be told so (glibc only).

    A reading child allocates and frees blocks of many megabytes, the same sizes block after
    block. By default glibc maps each large one afresh and unmaps it when freed, and trims the
    top of its heap, so every block's memory is faulted in (and zeroed) again. On 2,000,376
    benchmark lines the log reader's child took 480,000 page faults and 1.25 s of system
    time; kept, 100,000 and 0.8 s (``/usr/bin/time``, three runs each). The child's memory
    goes back to the system when it ends.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in _TUNING)
