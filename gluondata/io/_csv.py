"""CSVIter: batches of rows from CSV files, read and parsed a chunk at a time."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._base import BatchIter, DataBatch, DataDesc, positive_batch_size
from ._state import check_iter_state, iter_state

__all__ = ["CSVIter"]

CHUNK_BYTES = 1 << 18  # text parsed at once: bounds the memory a reader holds


class _CsvStream:
    """The rows of one CSV file (or of every file in a folder, by name), chunk by chunk.

    Parameters
    ----------
    path : str
        A file, or a folder whose files are read one after the other.
    width : int
        Values per row.
    what : str
        ``"data_csv"`` or ``"label_csv"``, for error messages.
    """

    def __init__(self, path: str, width: int, what: str) -> None:
        self.path = path
        if os.path.isdir(path):
            self._paths = [
                os.path.join(path, name)
                for name in sorted(os.listdir(path))
                if os.path.isfile(os.path.join(path, name))
            ]
        elif os.path.isfile(path):
            self._paths = [path]
        else:
            raise FileNotFoundError(f"{what}: no such file or folder: {path!r}")
        self._width = width
        self._what = what
        self._file: Any = None
        self._name = ""
        self._next_file = 0  # index in _paths of the next file to open
        self._line = 0  # lines of the current file consumed so far
        self._tail = b""
        self._text_end = 0  # byte offset in the current file where _tail starts
        self._rows = np.empty((0, width))
        self._taken = 0
        self._chunk = (0, 0, 0)  # (file index, byte offset, lines before) of _rows' text

    def state(self) -> dict[str, int]:
        """Where the next row is: the start of its chunk of text, and rows taken from it."""
        file, offset, line = self._chunk
        return {"file": file, "offset": offset, "line": line, "taken": self._taken}

    def load_state(self, state: dict[str, int]) -> None:
        """Go to the row ``state`` (from :meth:`state`) names, parsing one chunk to find it."""
        self.close()
        file, offset, line = int(state["file"]), int(state["offset"]), int(state["line"])
        self._rows, self._taken, self._chunk = np.empty((0, self._width)), 0, (file, offset, line)
        self._next_file = file
        if file < len(self._paths):
            self._name = self._paths[file]
            self._file = open(self._name, "rb")  # noqa: SIM115 (kept open across calls)
            self._file.seek(offset)
            self._next_file = file + 1
            self._line, self._tail, self._text_end = line, b"", offset
        if len(self.read(int(state["taken"]))) < int(state["taken"]):
            raise ValueError(
                f"{self._what} {self.path!r} ends before the saved position (file {file}, "
                f"byte {offset}): it changed since the state was saved"
            )

    def close(self) -> None:
        """Close the file being read."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def read(self, count: int) -> np.ndarray:
        """Return the next ``count`` rows as a float64 array (fewer at the end)."""
        parts = []
        while count > 0:
            if self._taken == len(self._rows) and not self._refill():
                break
            part = self._rows[self._taken : self._taken + count]
            self._taken += len(part)
            count -= len(part)
            parts.append(part)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty((0, self._width))

    def _refill(self) -> bool:
        """Parse the next chunk of lines; False at the end of the last file."""
        while True:
            if self._file is None:
                if self._next_file >= len(self._paths):
                    return False
                self._name = self._paths[self._next_file]
                self._file = open(self._name, "rb")  # noqa: SIM115 (kept open across calls)
                self._next_file += 1
                self._line, self._tail, self._text_end = 0, b"", 0
            chunk = self._file.read(CHUNK_BYTES)
            if chunk:
                pending = self._tail + chunk
                cut = pending.rfind(b"\n") + 1
                if not cut:  # a line longer than a chunk: keep reading
                    self._tail = pending
                    continue
                text, self._tail = pending[:cut], pending[cut:]
            else:
                text, self._tail = self._tail, b""
                self.close()
                if not text:
                    continue
            first_line = self._line + 1
            self._line += text.count(b"\n") + (not text.endswith(b"\n"))
            text_start, self._text_end = self._text_end, self._text_end + len(text)
            rows = self._parse(text, first_line)
            if len(rows):
                self._rows, self._taken = rows, 0
                self._chunk = (self._next_file - 1, text_start, first_line - 1)
                return True

    def _parse(self, text: bytes, first_line: int) -> np.ndarray:
        """Parse complete lines; errors name the file and line."""
        if not text.strip():
            return np.empty((0, self._width))
        try:
            rows = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError:
            rows = None
        if rows is None or rows.shape[1] != self._width:
            try:
                decoded = text.decode("utf-8")
            except UnicodeDecodeError as err:
                line = first_line + text[: err.start].count(b"\n")
                self._fail(line, f"UTF-8 text, found bytes that are not ({err.reason})")
            rows = self._parse_lines(decoded, first_line)
        return rows

    def _parse_lines(self, text: str, first_line: int) -> np.ndarray:
        """The slow path: one line at a time (tolerates a trailing comma), naming a bad line."""
        rows = []
        for number, line in enumerate(text.splitlines(), first_line):
            if not line.strip():
                continue
            fields = [field.strip() for field in line.split(",")]
            if len(fields) > 1 and not fields[-1]:
                fields.pop()
            if len(fields) != self._width:
                self._fail(
                    number,
                    f"{self._width} comma-separated values (the shape's size), found "
                    f"{len(fields)}: {line[:80]!r}",
                )
            try:
                rows.append([float(field) for field in fields])
            except ValueError:
                column = next(i for i, f in enumerate(fields, 1) if not _is_number(f))
                self._fail(
                    number, f"a number in column {column}, found {fields[column - 1][:40]!r}"
                )
        return np.array(rows, dtype=np.float64).reshape(-1, self._width)

    def _fail(self, line: int, expected: str) -> None:
        raise ValueError(f"{self._what} {self._name!r}: line {line}: expected {expected}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _RowReader:
    """Data rows and their label rows, read in step from their files."""

    def __init__(self, data: _CsvStream, label: _CsvStream | None) -> None:
        self.data = data
        self.label = label
        self.position = 0  # index of the next row

    def read(self, count: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The next ``count`` data rows and their label rows (fewer at the end)."""
        data = self.data.read(count)
        label = None
        if self.label is not None:
            label = self.label.read(len(data))
            if len(label) < len(data):
                raise ValueError(
                    f"label_csv {self.label.path!r} ends after {self.position + len(label)} "
                    f"rows, before data_csv {self.data.path!r}"
                )
            if len(data) < count and len(self.label.read(1)):
                raise ValueError(
                    f"label_csv {self.label.path!r} has more rows than the "
                    f"{self.position + len(data)} of data_csv {self.data.path!r}"
                )
        self.position += len(data)
        return data, label

    def close(self) -> None:
        self.data.close()
        if self.label is not None:
            self.label.close()

    def state(self) -> dict[str, Any]:
        """Where the next row is, in the data and the label files."""
        label = None if self.label is None else self.label.state()
        return {"position": self.position, "data": self.data.state(), "label": label}

    def load_state(self, state: dict[str, Any]) -> None:
        """Go to the row ``state`` (from :meth:`state`) names."""
        self.data.load_state(state["data"])
        if self.label is not None:
            self.label.load_state(state["label"])
        self.position = int(state["position"])


class CSVIter(BatchIter):
    """Batches of rows from CSV files (``mx.io.CSVIter``), read a chunk at a time.

    The files are parsed in chunks of 256 KiB, so memory stays flat whatever
    their size. A row that does not parse or has the wrong number of
    values raises ``ValueError`` naming the file and line.

    Parameters
    ----------
    data_csv : str
        The data file, or a folder whose files are read in name order.
    data_shape : tuple of int
        The shape of one example; each row holds ``prod(data_shape)`` values.
    label_csv : str, optional
        The label file or folder, one row per data row (None or ``"NULL"``:
        every label is 0).
    label_shape : tuple of int, default (1,)
        The shape of one label; ``(1,)`` gives labels of shape ``(batch_size,)``.
    batch_size : int, default 1
        Rows per batch.
    round_batch : bool, default True
        Complete a short last batch with rows from the start of the file
        (``pad`` says how many); the next epoch then starts after those rows,
        as in MXNet. False: the missing rows are zeros, counted by ``pad``.
    prefetch_buffer : int, default 4
        Accepted for MXNet compatibility (wrap the iterator in a
        :class:`PrefetchingIter` to read ahead in a thread).
    ctx : str, default "gpu"
        Accepted for MXNet compatibility; batches are numpy arrays.
    dtype : {None, 'float32', 'int32', 'int64'}, optional
        Type of data and labels (None: float32). Integers are truncated.
    data_name : str, default "data"
        Name in ``provide_data``.
    label_name : str, default "softmax_label"
        Name in ``provide_label``.

    Notes
    -----
    ``DataBatch.index`` holds each example's row number (-1 for the zero rows
    of ``round_batch=False``).
    """

    _single_arrays = True  # a C++ MXDataIter in MXNet: getdata() is the one array

    def __init__(
        self,
        data_csv: str,
        data_shape: Sequence[int],
        label_csv: str | None = None,
        label_shape: Sequence[int] = (1,),
        batch_size: int = 1,
        round_batch: bool = True,
        prefetch_buffer: int = 4,
        ctx: str = "gpu",
        dtype: str | None = None,
        data_name: str = "data",
        label_name: str = "softmax_label",
    ) -> None:
        super().__init__(positive_batch_size(batch_size))
        if dtype not in (None, "float32", "int32", "int64"):
            raise ValueError(f"dtype must be None, 'float32', 'int32' or 'int64', got {dtype!r}")
        self.data_csv = os.fspath(data_csv)
        self.label_csv = None if label_csv in (None, "NULL") else os.fspath(label_csv)
        self.data_shape = tuple(int(d) for d in data_shape)
        self.label_shape = tuple(int(d) for d in label_shape)
        self.round_batch = bool(round_batch)
        self.dtype = np.dtype(dtype or "float32")
        label_batch = (
            (self.batch_size,) if self.label_shape == (1,) else (self.batch_size, *self.label_shape)
        )
        self.provide_data = [
            DataDesc(data_name, (self.batch_size, *self.data_shape), self.dtype.type)
        ]
        self.provide_label = [DataDesc(label_name, label_batch, self.dtype.type)]
        self._reader: _RowReader | None = self._open()
        self._carry: _RowReader | None = None
        self._started = False
        self._done = False

    def _open(self) -> _RowReader:
        data = _CsvStream(self.data_csv, int(np.prod(self.data_shape)), "data_csv")
        label = None
        if self.label_csv is not None:
            label = _CsvStream(self.label_csv, int(np.prod(self.label_shape)), "label_csv")
        return _RowReader(data, label)

    def reset(self) -> None:
        """Start the next epoch: after the rows a ``round_batch`` batch borrowed, or at row 0.

        Before the epoch's first batch it changes nothing.
        """
        if not self._started:
            return
        if self._reader is not None:
            self._reader.close()
        self._reader, self._carry = (self._carry or self._open()), None
        self._started = self._done = False

    def _fingerprint(self) -> dict[str, Any]:
        return {
            "data_shape": self.data_shape,
            "label_shape": self.label_shape,
            "with_label": self.label_csv is not None,
            "batch_size": self.batch_size,
            "round_batch": self.round_batch,
        }

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned, as a small JSON-serializable dict.

        It names the byte offset of the chunk of text the next row is in, so
        :meth:`load_state_dict` parses one chunk, not the rows before it.
        """
        position = {
            "reader": None if self._reader is None else self._reader.state(),
            "carry": None if self._carry is None else self._carry.state(),
            "started": self._started,
            "done": self._done,
        }
        return iter_state("CSVIter", self._fingerprint(), position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`), over the same files.

        Raises
        ------
        ValueError
            The state is of other shapes, batch size, ... or a newer version.
        """
        required = ("reader", "carry", "started", "done")
        check_iter_state("CSVIter", state, self._fingerprint(), required)
        for reader in (self._reader, self._carry):
            if reader is not None:
                reader.close()
        self._reader = self._carry = None
        if state["reader"] is not None:
            self._reader = self._open()
            self._reader.load_state(state["reader"])
        if state["carry"] is not None:
            self._carry = self._open()
            self._carry.load_state(state["carry"])
        self._started, self._done = bool(state["started"]), bool(state["done"])

    def _next_batch(self) -> DataBatch | None:
        if self._done:
            return None
        self._started = True
        size = self.batch_size
        first = self._reader.position
        data, label = self._reader.read(size)
        count = len(data)
        if count == 0:
            self._done = True
            return None
        index = np.arange(first, first + count, dtype=np.int64)
        if count < size:
            self._done = True
            data, label, index = self._complete(data, label, index)
        return DataBatch(
            [self._shape(data, self.provide_data[0].shape)],
            [self._shape(label, self.provide_label[0].shape)],
            pad=size - count,
            index=index,
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )

    def _complete(
        self, data: np.ndarray, label: np.ndarray | None, index: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Fill a short last batch: borrowed rows (``round_batch``) or zeros."""
        missing = self.batch_size - len(data)
        if self.round_batch:
            carry = self._open()
            more, more_label = carry.read(missing)
            if len(more) < missing:
                raise ValueError(
                    f"round_batch=True: {self.data_csv} has {carry.position} rows, fewer than "
                    f"the {missing} needed to complete the last batch of {self.batch_size}"
                )
            self._carry = carry
            fill = np.arange(missing, dtype=np.int64)
        else:
            more = np.zeros((missing, data.shape[1]))
            more_label = None if label is None else np.zeros((missing, label.shape[1]))
            fill = np.full(missing, -1, dtype=np.int64)
        if label is not None:
            label = np.concatenate([label, more_label])
        return np.concatenate([data, more]), label, np.concatenate([index, fill])

    def _shape(self, rows: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
        if rows is None:
            return np.zeros(shape, dtype=self.dtype)
        if self.dtype.kind == "i":
            rows = np.trunc(rows)
        return rows.astype(self.dtype).reshape(shape)
