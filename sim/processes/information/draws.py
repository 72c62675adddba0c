"""The random numbers of the information kernels, drawn ahead by numpy when there are many.

numpy fills an array of uniforms at about 1.8 ns a draw, and makes the geometric gaps
between noticed copies (a uniform and a logarithm each) at about 2 ns a gap; a compiled
loop of single draws takes 2.4 ns a uniform and about 35 ns a gap. So where a step makes
many draws, they are drawn here, from the same
``numpy.random.Generator`` the kernels draw from, and handed to the kernel; where it makes
few, the kernel draws them (a call to numpy would cost more than it saves). Either way the
stream is the same: the same numbers, in the same order, and the Generator's state after.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from .kernels import Groups, Sharers, log_no_notice, posting_trials

__all__ = [
    "NUMPY_DRAWS_FROM",
    "NUMPY_GAPS_AT_MOST",
    "NUMPY_GAPS_FROM",
    "notice_gaps",
    "posting_uniforms",
    "return_unread",
]

#: sharers from which :func:`posting_uniforms` draws the uniforms with numpy
NUMPY_DRAWS_FROM = 4096
#: noticed copies expected from which :func:`notice_gaps` draws their gaps with numpy
NUMPY_GAPS_FROM = 1024
#: gaps :func:`notice_gaps` draws ahead at most (8 MiB; the kernel draws any more itself)
NUMPY_GAPS_AT_MOST = 1 << 20
_NO_UNIFORMS = np.zeros(0)
_NO_GAPS = np.zeros(0, np.int64)


def posting_uniforms(rng: np.random.Generator, sharers: Sharers, net: Groups) -> np.ndarray:
    """The uniforms of :func:`.kernels.choose_posts` for many sharers (:data:`NUMPY_DRAWS_FROM`),
    exactly as many as it reads; for fewer, none (the kernel draws them)."""
    if sharers.ids.size < NUMPY_DRAWS_FROM:
        return _NO_UNIFORMS
    return rng.random(posting_trials(sharers.ids, sharers.p_post, net.c_indptr))


def notice_gaps(rng: np.random.Generator, trials: int, p: float) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The gaps of :func:`.kernels.place_copies` (``trials`` Bernoulli(``p``) trials) drawn
    ahead (:func:`.kernels.post_in_groups` leaves them to numpy from :data:`NUMPY_GAPS_FROM`
    expected copies).

    Drawn: the expected number of gaps plus six standard deviations, at most
    :data:`NUMPY_GAPS_AT_MOST` (the kernel draws any more it needs after them), so some may
    go unread: :func:`return_unread` then puts the stream back where it would be had each
    gap been drawn when needed. A gap is the
    kernel's ``floor(log(1 - u) / log(1 - p))``; numpy's logarithm may differ from the C
    library's in the last bit, which moves a gap only when its quotient lies within that bit
    of an integer (about one chance in 10^12). Returns the gaps and the state to go back to
    (None when none were drawn: the kernel draws them all; so with a bit generator other
    than the streams' PCG64, which may not go back)."""
    bits = rng.bit_generator
    if not 0.0 < p < 1.0 or trials == 0 or not isinstance(bits, np.random.PCG64):  # (one draw a gap)
        return _NO_GAPS, None
    state = cast(dict[str, Any], bits.state)
    if state.get("has_uint32"):  # a buffered 32-bit half, which going back (advance) would drop
        return _NO_GAPS, None
    mean = trials * p
    gaps = np.log(1.0 - rng.random(min(int(mean + 6.0 * np.sqrt(mean) + 16), NUMPY_GAPS_AT_MOST)))
    gaps /= log_no_notice(p)
    np.minimum(gaps, 4.0e18, out=gaps)
    return gaps.astype(np.int64), state


def return_unread(rng: np.random.Generator, gaps: np.ndarray, state: dict[str, Any] | None, read: int) -> None:
    """After :func:`notice_gaps`: the stream where it would be had only the ``read`` gaps been
    drawn (when more were read, the kernel drew the others after them: it is there already)."""
    if state is not None and read < gaps.size:
        bits = rng.bit_generator
        assert isinstance(bits, np.random.PCG64)  # (notice_gaps drew ahead only from one)
        bits.state = cast(Any, state)
        bits.advance(read)
