"""Clinicians' 1-on-1 contacts: colleagues in their facility, someone in the parent
facility (of their specialty when there is one), and people met at events of their
specialty; undirected, stored both ways as CSR (:class:`Contacts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .population import Population

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import ContactsConfig

__all__ = ["Contacts", "build_contacts", "csr"]


def csr(rows: np.ndarray, cols: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR index of (rows -> cols): ``indptr`` (n_rows + 1) and ``cols`` ordered by row."""
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, cols[order].astype(np.int32, copy=False)


@dataclass
class Contacts:
    """Undirected 1-on-1 contacts as CSR (both directions stored)."""

    indptr: np.ndarray
    neighbors: np.ndarray

    def of(self, clinician: int) -> np.ndarray:
        return self.neighbors[self.indptr[clinician] : self.indptr[clinician + 1]]

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)


def build_contacts(pop: Population, cfg: ContactsConfig, rng: np.random.Generator) -> Contacts:
    n = pop.n
    f_indptr, f_staff = pop.facility_staff()
    src_parts, dst_parts = [], []

    def pick_in(facilities: np.ndarray) -> np.ndarray:
        size = f_indptr[facilities + 1] - f_indptr[facilities]
        return f_staff[f_indptr[facilities] + (rng.random(facilities.size) * size).astype(np.int64)]

    # colleagues in the same facility
    k = rng.poisson(cfg.colleagues / 2, n)
    src = np.repeat(np.arange(n, dtype=np.int32), k)
    src_parts.append(src)
    dst_parts.append(pick_in(pop.facility[src]))
    # upward: someone in the parent facility, of the same specialty when there is one
    parent = pop.fac_parent[pop.facility]
    has_parent = np.flatnonzero(parent >= 0)
    k = rng.poisson(cfg.upward, has_parent.size)
    src = np.repeat(has_parent.astype(np.int32), k)
    if src.size:
        n_spec = int(pop.specialty.max()) + 1
        key = pop.facility.astype(np.int64) * n_spec + pop.specialty
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        want = parent[src].astype(np.int64) * n_spec + pop.specialty[src]
        lo = np.searchsorted(sorted_key, want, "left")
        hi = np.searchsorted(sorted_key, want, "right")
        same = order[np.minimum(lo + (rng.random(src.size) * (hi - lo)).astype(np.int64), n - 1)]
        any_ = pick_in(parent[src])
        src_parts.append(src)
        dst_parts.append(np.where(hi > lo, same, any_).astype(np.int32))
    # met at events: anyone of the same specialty
    k = rng.poisson(cfg.conference / 2, n)
    src = np.repeat(np.arange(n, dtype=np.int32), k)
    if src.size:
        order = np.argsort(pop.specialty, kind="stable")
        counts = np.bincount(pop.specialty, minlength=int(pop.specialty.max()) + 1)
        start = np.concatenate([[0], np.cumsum(counts)])
        s = pop.specialty[src]
        src_parts.append(src)
        dst_parts.append(order[start[s] + (rng.random(src.size) * counts[s]).astype(np.int64)].astype(np.int32))
    src = np.concatenate(src_parts)
    dst = np.concatenate(dst_parts)
    keep = src != dst
    a = np.concatenate([src[keep], dst[keep]]).astype(np.int64)
    b = np.concatenate([dst[keep], src[keep]]).astype(np.int64)
    pairs = np.unique(a * n + b)
    indptr, nb = csr((pairs // n).astype(np.int32), (pairs % n).astype(np.int32), n)
    return Contacts(indptr=indptr, neighbors=nb)
