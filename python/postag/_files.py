"""Writing a file whole or not at all, as the command line's `-o` does."""

from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union


def _descriptor(path: str) -> Optional[int]:
    """The descriptor of this process that `path` names (`/dev/stdout`, `/dev/fd/N`,
    `/proc/self/fd/N`, `/proc/thread-self/fd/N`, `/proc/self/task/T/fd/N`, or a link to
    one of them), if it names one."""
    for _ in range(40):
        name = os.path.basename(path)
        if name.isascii() and name.isdigit():
            if _fd_directory(os.path.realpath(os.path.dirname(path) or ".")):
                return int(name)
        try:
            target = os.readlink(path)
        except OSError:
            return None
        path = os.path.join(os.path.dirname(path), target)
    return None


def _fd_directory(path: str) -> bool:
    """Whether `path` is this process's `/proc/PID/fd` or one of its threads'
    `/proc/PID/task/T/fd`."""
    parts = path.split("/")
    if parts[:3] != ["", "proc", str(os.getpid())] or parts[-1] != "fd":
        return False
    middle = parts[3:-1]
    return not middle or (
        len(middle) == 2 and middle[0] == "task" and middle[1].isascii() and middle[1].isdigit()
    )


def _destination(path: str) -> str:
    """Where the bytes go: the end of a chain of symbolic links (dangling ones too)."""
    for _ in range(40):
        try:
            target = os.readlink(path)
        except OSError:
            return path
        path = os.path.join(os.path.dirname(path), target)
    raise OSError(40, "Too many levels of symbolic links", path)


def write_whole(path: Union[str, os.PathLike[str]], data: Union[bytes, str]) -> None:
    """Writes `data` to `path` whole or not at all: a temporary file of a name no other
    write uses (process and thread) in the destination's directory, flushed to disk,
    then renamed over it. A symbolic link is written through and stays a link; an
    existing file keeps its permissions. A descriptor of this process (`/dev/stdout`:
    Python's own buffered stream is flushed first), a device or a named pipe
    (`/dev/null`) cannot be replaced: it is written in place."""
    path = os.fspath(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd = _descriptor(path)
    if fd is not None:
        # What Python buffered for the same descriptor goes first.
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None and stream.fileno() == fd:
                    stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        view = memoryview(raw)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as e:
            raise OSError(e.errno, e.strerror, path) from None
        return
    dest = _destination(path)
    try:
        mode: Optional[int] = os.stat(dest).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with open(dest, "wb") as f:
            f.write(raw)
        return
    import threading  # (here: importing it costs every `import postag` milliseconds)

    unique = f"{os.getpid()}-{threading.get_ident()}"
    tmp = os.path.join(os.path.dirname(dest), f".{os.path.basename(dest)}.tmp-{unique}")
    try:
        with open(tmp, "xb") as f:
            if mode is not None:
                os.chmod(tmp, stat.S_IMODE(mode))
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        if os.path.lexists(tmp):
            os.remove(tmp)
        # The error names the path given, not the temporary file.
        if isinstance(e, OSError) and e.errno is not None:
            raise OSError(e.errno, e.strerror, path) from None
        raise
