"""Writing outputs safely: whole or not at all, one writer at a time, and CSV text that no
spreadsheet runs as a formula.

* :func:`atomic_output` yields a temporary path in the target's own folder; the file replaces the
  target (``os.replace``, atomic on one file system) only once it is complete, so a kill, a full
  disk or an error leaves the previous file as it was.
* :func:`exclusive` holds a lock file beside a file that several runs update (the history), so two
  runs at once take turns instead of one losing the other's rows.
* :func:`csv_cell` neutralises text that a spreadsheet would read as a formula (OWASP "CSV
  injection": a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) by prefixing ``'``;
  :func:`csv_text` takes that prefix off again when the project reads its own CSV back.

Problems end in a :class:`~udfs.errors.KaoheError` naming the file, Chinese first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from udfs.errors import KaoheError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LOCK_WAIT_SECONDS = 60.0


def _failure(path: Path, err: OSError) -> KaoheError:
    if isinstance(err, PermissionError):
        return KaoheError(f"无法写入 {path}: 文件只读、无权限或正被其他程序(如 Excel)打开，请关闭后重试",
                          f"cannot write {path}: read-only, no permission or open in another program ({err})")
    if getattr(err, "errno", None) == 28:  # ENOSPC
        return KaoheError(f"无法写入 {path}: 磁盘已满，原文件未改动", f"cannot write {path}: disk full, left as it was")
    return KaoheError(f"无法写入 {path}: {err.strerror or err}", f"cannot write {path}: {err}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step. The
    file gets the permissions the target has (or a new file would get). A target that is a
    folder, read-only or locked is refused with a message; so is a folder that does not exist."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise KaoheError(f"输出文件夹不存在: {folder}", f"no such folder: {folder}")
    if path.is_dir():
        raise KaoheError(f"无法写入 {path}: 这是一个文件夹，请给出文件名", f"cannot write {path}: it is a folder")
    if path.exists() and not path.stat().st_mode & 0o222:  # marked read-only: replacing it would get round that
        raise _failure(path, PermissionError(13, "read-only"))
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=folder)
        os.close(handle)
        os.chmod(name, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
    except OSError as err:
        raise _failure(path, err) from err
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as err:
        raise _failure(path, err) from err
    finally:
        if temporary.exists():
            temporary.unlink()


@contextlib.contextmanager
def exclusive(path, *, wait: float = LOCK_WAIT_SECONDS):
    """Hold ``path``'s lock file (``path`` + ``.lock``) while the block runs; wait up to ``wait``
    seconds for another run to release it. A lock left by a run that died is taken over once it
    is older than ``wait``."""
    lock = Path(f"{path}.lock")
    deadline = time.monotonic() + wait
    while True:
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - lock.stat().st_mtime > wait:
                    lock.unlink()
                    continue
            if time.monotonic() > deadline:
                raise KaoheError(f"{path} 正被另一次运行更新(锁文件 {lock.name})，请稍后重试",
                                 f"{path} is being updated by another run (lock {lock.name}); try again later") from None
            time.sleep(0.05)
        except OSError as err:
            raise _failure(lock, err) from err
    try:
        os.write(handle, str(os.getpid()).encode())
        os.close(handle)
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cell(value) -> str:
    """A value as CSV text that a spreadsheet shows as written: text starting like a formula gets
    a leading ``'`` (numbers such as ``-3.5`` stay numbers)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text
    return text


def csv_text(text: str) -> str:
    """Undo :func:`csv_cell` on text read back from the project's own CSV."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) and not _is_number(text[1:]):
        return text[1:]
    return text
