"""Verdicts of cnncalc against a framework, without the framework: what was measured on each side,
per layer and per set of values, the verdicts, their text and JSON, and which input sizes to try.
The PyTorch backend (:mod:`cnncalc.backends.torch`) fills these in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError, ShapeError
from .expressions import Expr

if TYPE_CHECKING:
    from .architecture import Architecture

#: How far the search for the smallest input size that works goes.
SCAN_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Measure:
    """One layer's numbers from one side: output shape (no batch axis), parameters, MACs."""

    output: tuple[int, ...]
    params: int
    macs: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """PyTorch raised: in which layer ("input" for the input tensor), and what it said."""

    layer: str
    message: str


@dataclass(frozen=True, slots=True)
class LayerCheck:
    """One layer: cnncalc's prediction and PyTorch's measure (None where that side did not get
    this far) and the verdict."""

    name: str
    kind: str
    predicted: Measure | None
    measured: Measure | None

    @property
    def differences(self) -> tuple[str, ...]:
        """The fields that differ: "shape", "params", "MACs"; "missing" when a side has no measure."""
        if self.predicted is None or self.measured is None:
            return ("missing",)
        p, m = self.predicted, self.measured
        fields = (("shape", p.output, m.output), ("params", p.params, m.params), ("MACs", p.macs, m.macs))
        return tuple(label for label, a, b in fields if a != b)

    @property
    def agrees(self) -> bool:
        """Whether shape, parameters and MACs are the same on both sides."""
        return not self.differences

    @property
    def verdict(self) -> str:
        """ "ok", or what differs ("shape, MACs differ"), or which side has no result."""
        if self.predicted is None and self.measured is None:
            return "-"
        if self.predicted is None:
            return "cnncalc rejected"
        if self.measured is None:
            return "PyTorch rejected"
        return "ok" if self.agrees else f"{', '.join(self.differences)} differ"


@dataclass(frozen=True, slots=True)
class MemoryCheck:
    """Memory at batch 1 in float32 (cnncalc.memory against PyTorch's measurement): bytes saved for
    backward in training (in total; ``layers``: where the per-layer bytes differ) and the peak of
    live activations in inference."""

    predicted_saved: int
    measured_saved: int
    predicted_peak: int
    measured_peak: int
    layers: tuple[str, ...] = ()
    #: Why PyTorch could not measure (a training forward it refuses at batch 1): nothing compared.
    refused: str = ""

    @property
    def agrees(self) -> bool:
        """Whether saved bytes (every layer) and the peak are equal (true where nothing could be compared)."""
        return bool(self.refused) or (
            not self.layers
            and (self.predicted_saved, self.predicted_peak)
            == (
                self.measured_saved,
                self.measured_peak,
            )
        )

    def __str__(self) -> str:
        if self.refused:
            return f"memory at batch 1, float32: not compared: {self.refused}"
        verdict = (
            "agree" if self.agrees else "differ" + (f" (layers {', '.join(self.layers[:5])})" if self.layers else "")
        )
        return (
            f"memory at batch 1, float32: saved for backward {self.predicted_saved:,} / PyTorch "
            f"{self.measured_saved:,} bytes; inference peak {self.predicted_peak:,} / PyTorch "
            f"{self.measured_peak:,} bytes: {verdict}"
        )


@dataclass(frozen=True, slots=True)
class Run:
    """Both sides at one set of symbol values: per-layer checks and each side's refusal, if any,
    and the memory check where it was asked for."""

    values: dict[str, int]
    layers: tuple[LayerCheck, ...]
    cnncalc_error: str | None
    pytorch_error: Rejection | None
    device: str
    memory: MemoryCheck | None = None

    @property
    def verdict(self) -> str:
        """ "agree", "both reject", "only cnncalc rejects", "only PyTorch rejects" or "disagree"."""
        if self.cnncalc_error and self.pytorch_error:
            return "both reject"
        if self.cnncalc_error:
            return "only cnncalc rejects"
        if self.pytorch_error:
            return "only PyTorch rejects"
        if self.memory is not None and not self.memory.agrees:
            return "disagree"
        return "agree" if all(c.agrees for c in self.layers) else "disagree"

    @property
    def agrees(self) -> bool:
        """Same numbers in every layer, or both sides refusing these values."""
        return self.verdict in ("agree", "both reject")


@dataclass(frozen=True, slots=True)
class Verification:
    """cnncalc against PyTorch for one architecture at one or more sets of symbol values."""

    name: str
    runs: tuple[Run, ...]
    torch_version: str

    @property
    def agrees(self) -> bool:
        """Whether every run agrees (both sides accept with the same numbers, or both refuse)."""
        return all(run.agrees for run in self.runs)

    def render(self, format: str = "text") -> str:
        """The verification as a text table per run, or as JSON (see :meth:`to_dict`)."""
        if format == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if format != "text":
            raise CnncalcError(f"unknown format {format!r} for verify; formats: text, json")
        return _text(self)

    def to_dict(self) -> dict[str, Any]:
        """The verification as JSON-ready data."""

        def side(m: Measure | None) -> dict[str, Any] | None:
            return None if m is None else {"output": list(m.output), "params": m.params, "macs": m.macs}

        return {
            "name": self.name,
            "torch": self.torch_version,
            "agrees": self.agrees,
            "runs": [
                {
                    "values": run.values,
                    "verdict": run.verdict,
                    "agrees": run.agrees,
                    "device": run.device,
                    "cnncalc_error": run.cnncalc_error,
                    "memory": None
                    if run.memory is None
                    else {
                        "batch": 1,
                        "dtype": "float32",
                        "saved_bytes": {"cnncalc": run.memory.predicted_saved, "pytorch": run.memory.measured_saved},
                        "peak_bytes": {"cnncalc": run.memory.predicted_peak, "pytorch": run.memory.measured_peak},
                        "layers_differing": list(run.memory.layers),
                        "agrees": run.memory.agrees,
                        "refused": run.memory.refused or None,
                    },
                    "pytorch_error": None
                    if run.pytorch_error is None
                    else {"layer": run.pytorch_error.layer, "message": run.pytorch_error.message},
                    "layers": [
                        {
                            "name": c.name,
                            "kind": c.kind,
                            "verdict": c.verdict,
                            "cnncalc": side(c.predicted),
                            "pytorch": side(c.measured),
                        }
                        for c in run.layers
                    ],
                }
                for run in self.runs
            ],
        }


_HEADERS = ("Layer", "Kind", "Shape", "PyTorch shape", "Params", "PyTorch params", "MACs", "PyTorch MACs", "Verdict")
_RIGHT = {4, 5, 6, 7}


def _cells(check: LayerCheck) -> list[str]:
    def shape(m: Measure | None) -> str:
        return "-" if m is None else "x".join(map(str, m.output))

    def count(m: Measure | None, field: str) -> str:
        return "-" if m is None else f"{getattr(m, field):,}"

    p, m = check.predicted, check.measured
    return [
        check.name,
        check.kind,
        shape(p),
        shape(m),
        count(p, "params"),
        count(m, "params"),
        count(p, "macs"),
        count(m, "macs"),
        check.verdict,
    ]


def _text(verification: Verification) -> str:
    lines: list[str] = []
    for run in verification.runs:
        values = ", ".join(f"{k}={v}" for k, v in sorted(run.values.items()))
        at = f" at {values}" if values else ""
        lines.append(f"{verification.name}{at}: {run.verdict} (PyTorch {verification.torch_version}, {run.device})")
        if run.cnncalc_error:
            lines.append(f"  cnncalc: {run.cnncalc_error}")
        if run.pytorch_error:
            lines.append(f"  PyTorch: {run.pytorch_error.layer}: {run.pytorch_error.message}")
        if run.memory is not None:
            lines.append(f"  {run.memory}")
        # Where both refuse, their two messages are the story; elsewhere every layer either side ran.
        shown = () if run.verdict == "both reject" else run.layers
        rows = [_cells(c) for c in shown if c.predicted is not None or c.measured is not None]
        if rows:
            widths = [max(len(r[i]) for r in [list(_HEADERS), *rows]) for i in range(len(_HEADERS))]
            for r in [list(_HEADERS), ["-" * w for w in widths], *rows]:
                cells = [
                    c.rjust(w) if i in _RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
                ]
                lines.append("  ".join(cells).rstrip())
        lines.append("")
    bad = sum(not run.agrees for run in verification.runs)
    n = len(verification.runs)
    lines.append(f"{n} value set{'s' if n != 1 else ''}: all agree" if not bad else f"{bad} of {n} value sets disagree")
    return "\n".join(lines) + "\n"


# --- which values ----------------------------------------------------------------------------


def spatial_symbols(arch: Architecture) -> list[str]:
    """Names in the input's spatial sizes (after the channels): H and W in [3, H, W]."""
    names: set[str] = set()
    for value in arch.input[1:]:
        if isinstance(value, Expr):
            names |= value.names
    return sorted(names)


def _outcome(arch: Architecture, values: Mapping[str, int]) -> bool | None:
    """True if cnncalc summarizes at ``values``, False if it refuses the shapes, None if the values
    do not even resolve (a field such as H/2 at an odd H)."""
    try:
        arch.summarize(values, symbolic=False)  # a mapping: a symbol may share a keyword's name
    except ShapeError:
        return False
    except CnncalcError:
        return None
    return True


def _next_prime(n: int) -> int:
    while True:
        n += 1
        if n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1)):
            return n


def auto_sizes(arch: Architecture, values: Mapping[str, int], spatial: Sequence[str]) -> list[int]:
    """Input sizes to try when none are given: the smallest that works and the one below it (both
    sides must refuse it), the one above it, an odd one past the default and the next prime."""

    def at(n: int) -> dict[str, int]:
        return {**values, **dict.fromkeys(spatial, n)}

    # The exact smallest size (cnncalc.constraints); a scan where rules on several symbols decide.
    smallest = arch.constraints().smallest(spatial)
    if smallest is None or not _outcome(arch, at(smallest)) or (smallest > 1 and _outcome(arch, at(smallest - 1))):
        smallest = next((n for n in range(1, SCAN_LIMIT + 1) if _outcome(arch, at(n))), None)
    if smallest is None:
        return []
    ref = max([smallest] + [arch.defaults[s] for s in spatial if s in arch.defaults])
    odd = ref + 1 if ref % 2 == 0 else ref + 2
    picks = {smallest - 1, smallest, smallest + 1, odd, _next_prime(odd)}
    return [n for n in sorted(picks) if n >= 1 and _outcome(arch, at(n)) is not None]


def value_sets(
    arch: Architecture, values: Mapping[str, int] | None = None, sizes: Sequence[int] | None = None
) -> list[dict[str, int]]:
    """The symbol values to verify at: ``values`` (with the file's defaults), then each of
    ``sizes`` given to every spatial symbol of the input. Without ``sizes``, spatial symbols that
    ``values`` leaves open get a few sizes across the valid range (:func:`auto_sizes`)."""
    given = dict(values or {})
    spatial = spatial_symbols(arch)
    if sizes is not None:
        if not spatial:
            raise CnncalcError(f"{arch.name}'s input has no symbolic height or width for sizes to set; use values")
        if any(n < 1 for n in sizes):
            raise CnncalcError(f"sizes must be positive whole numbers, got {list(sizes)}")
        chosen = list(sizes)
    elif spatial and not set(spatial) <= set(given):
        chosen = auto_sizes(arch, given, spatial)
    else:
        chosen = []
    sets: list[dict[str, int]] = []
    seen: list[dict[str, int]] = []  # with the defaults filled in: H=224 given is the default H
    candidates = [given] if all(s in given or s in arch.defaults for s in spatial) else []
    for candidate in candidates + [{**given, **dict.fromkeys(spatial, n)} for n in chosen]:
        if {**arch.defaults, **candidate} not in seen:
            seen.append({**arch.defaults, **candidate})
            sets.append(candidate)
    if not sets:
        raise CnncalcError(f"{arch.name}: no input size works up to {SCAN_LIMIT}; give sizes or values to check")
    return sets


__all__ = [
    "SCAN_LIMIT",
    "LayerCheck",
    "Measure",
    "MemoryCheck",
    "Rejection",
    "Run",
    "Verification",
    "auto_sizes",
    "spatial_symbols",
    "value_sets",
]
