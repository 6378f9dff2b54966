"""Raw samples: one row per request, written to Parquet in batches.

Every request the load generator makes becomes one row, with its exact latency (a float in
milliseconds from ``time.perf_counter``, not Locust's rounded histogram buckets), so percentiles are
computed from the data itself, afterwards, by :mod:`loadgen.measure.percentiles`.

Columns (units in the names where they have one):

* ``worker`` — index of the load-generator process that made the request;
* ``persona`` — ``sales`` / ``clerk`` / ``manager`` (or a test workload's persona);
* ``operation`` — the stable operation name (also the Locust request ``name``);
* ``intended_start_s`` — wall-clock epoch seconds at which the request *should* have started: the
  schedule time in the open model, the actual start in the closed model;
* ``start_s`` — wall-clock epoch seconds at which the request was actually sent;
* ``latency_ms`` — from the intended start to the end of the response (what the operator waited);
* ``service_ms`` — from the actual send to the end of the response (what the server took);
* ``status`` — HTTP status, 0 when no response arrived (connection error, never started);
* ``outcome`` — ``success`` | ``refusal`` (an expected business 409: out of stock, over quota,
  credit limit) | ``error``;
* ``phase`` — ``warmup`` | ``measure``: decided by the intended start, so warm-up rows are kept
  apart in the same file and never enter the percentiles;
* ``pool_wait_ms`` — open model: how long the arrival waited for an idle pooled session of its
  persona; in ``latency_ms`` only when the pool could not grow any more (a fixed pool, or out of
  seats: a team of that size queues for the system); 0 in the closed model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS: dict[str, pa.DataType] = {
    "worker": pa.int16(),
    "persona": pa.string(),
    "operation": pa.string(),
    "intended_start_s": pa.float64(),
    "start_s": pa.float64(),
    "latency_ms": pa.float64(),
    "service_ms": pa.float64(),
    "status": pa.int16(),
    "outcome": pa.string(),
    "phase": pa.string(),
    "pool_wait_ms": pa.float64(),
}
SCHEMA = pa.schema([pa.field(name, typ) for name, typ in COLUMNS.items()])
OUTCOMES = ("success", "refusal", "error")
PHASES = ("warmup", "measure")
# Low-cardinality text columns are dictionary-encoded on disk: small files, fast categorical reads.
_DICT_COLUMNS = ["persona", "operation", "outcome", "phase"]


class SampleBuffer:
    """Column lists for rows not yet written; cheap to append to, cheap to ship between processes."""

    __slots__ = ("cols",)

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}

    def append(self, worker: int, persona: str, operation: str, intended_start_s: float, start_s: float,
               latency_ms: float, service_ms: float, status: int, outcome: str, phase: str,
               pool_wait_ms: float = 0.0) -> None:
        c = self.cols
        c["worker"].append(worker)
        c["persona"].append(persona)
        c["operation"].append(operation)
        c["intended_start_s"].append(intended_start_s)
        c["start_s"].append(start_s)
        c["latency_ms"].append(latency_ms)
        c["service_ms"].append(service_ms)
        c["status"].append(status)
        c["outcome"].append(outcome)
        c["phase"].append(phase)
        c["pool_wait_ms"].append(pool_wait_ms)

    def extend(self, cols: dict[str, list[Any]]) -> None:
        for name in COLUMNS:
            self.cols[name].extend(cols[name])

    def __len__(self) -> int:
        return len(self.cols["worker"])

    def take(self) -> dict[str, list[Any]]:
        """The buffered columns, leaving the buffer empty."""
        out, self.cols = self.cols, {name: [] for name in COLUMNS}
        return out


class SampleWriter:
    """Appends batches of rows to one Parquet file (one row group per batch)."""

    def __init__(self, path: Path, *, batch_rows: int = 100_000) -> None:
        self.path = Path(path)
        self.batch_rows = batch_rows
        self.rows = 0
        self._buffer = SampleBuffer()
        self._writer = pq.ParquetWriter(self.path, SCHEMA, use_dictionary=_DICT_COLUMNS, compression="zstd")

    def add(self, cols: dict[str, list[Any]]) -> None:
        self._buffer.extend(cols)
        if len(self._buffer) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if len(self._buffer):
            cols = self._buffer.take()
            self.rows += len(cols["worker"])
            self._writer.write_table(pa.table(cols, schema=SCHEMA))

    def close(self) -> None:
        self.flush()
        self._writer.close()


def read_samples(path: Path, columns: list[str] | None = None):
    """The samples file as a pandas DataFrame, text columns as categoricals."""
    table = pq.read_table(path, columns=columns)
    return table.to_pandas()


__all__ = ["COLUMNS", "OUTCOMES", "PHASES", "SCHEMA", "SampleBuffer", "SampleWriter", "read_samples"]
