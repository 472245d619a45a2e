"""ONNX Runtime execution providers: the ones asked for, checked, and those this machine has.

A worker is asked for providers in order of preference (``WorkerOptions.providers``, the
CLI's ``--providers``). A name ONNX Runtime does not know at all is refused with one line; a
known one this installation lacks (CUDA on a CPU-only wheel, TensorRT without its libraries)
is skipped, and CPU is always last, so a session can always be made. ``ProviderChoice.note``
says in words what was dropped, for the log and for the health reply.

>>> choice = choose_providers(("CUDAExecutionProvider", "CPUExecutionProvider"),
...                           available=["CPUExecutionProvider"])
>>> choice.used
('CPUExecutionProvider',)
>>> choice.note
'CUDAExecutionProvider not available here; falling back to CPUExecutionProvider'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from splitexit.errors import InputError

__all__ = ["CPU", "ProviderChoice", "check_provider_names", "choose_providers"]

CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class ProviderChoice:
    """What was asked (``requested``), what sessions use (``used``), and why they differ."""

    requested: tuple[str, ...]
    used: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def note(self) -> str:
        """One line on the fallback; empty when every provider asked for is used."""
        if not self.skipped:
            return ""
        names = ", ".join(self.skipped)
        verb = "is" if len(self.skipped) == 1 else "are"
        if self.used == (CPU,):
            return f"{names} not available here; falling back to {CPU}"
        return f"{names} {verb} not available here; using {', '.join(self.used)}"


def _known() -> list[str]:
    import onnxruntime as ort  # type: ignore[import-untyped]

    return list(ort.get_all_providers())


def _available() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def check_provider_names(requested: Sequence[str], known: Sequence[str] | None = None) -> None:
    """Raise ``InputError`` naming the first provider ONNX Runtime does not know."""
    if not requested:
        raise InputError(f"providers must name at least one execution provider, e.g. {CPU}")
    names = list(known) if known is not None else _known()
    for name in requested:
        if name not in names:
            raise InputError(
                f"providers: unknown ONNX Runtime execution provider {name!r}; expected one of "
                f"{', '.join(names)}"
            )


def choose_providers(
    requested: Sequence[str],
    *,
    available: Sequence[str] | None = None,
    known: Sequence[str] | None = None,
) -> ProviderChoice:
    """The providers a session gets: those of ``requested`` this machine has, CPU last."""
    have = list(available) if available is not None else _available()
    if known is None and available is not None:
        known = [*have, *requested]  # the caller spelled the machine out; trust the names
    check_provider_names(requested, known)
    used = [name for name in requested if name in have and name != CPU]
    skipped = tuple(name for name in requested if name not in have)
    return ProviderChoice(tuple(requested), (*used, CPU), skipped)
