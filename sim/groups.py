"""Chat groups (the 1-on-1 contacts are in :mod:`sim.contacts`).

Membership is a clinician x group incidence structure stored as membership rows
(``clinician``, ``group``) with two CSR indexes derived from them: group -> members
and clinician -> groups. No clique projection is ever built.

Groups form at set-up from the bases of the domain (alumni cohorts, internship
cohorts, specialty circles, affiliate programs, surveillance hierarchies, conference
cohorts, reading groups, links abroad): each basis gives every eligible clinician a
key (school and cohort, specialty and region, ...); a share ``join_prob`` of them
join; the members of one key are split into groups whose target size is drawn
log-normally per key and clipped to [3, size_cap]. Members then invite colleagues
from their own facility; a group that would pass the cap spills the newcomers into a
new group. Moderators are the most senior and expert members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .schema import BASES, ROLES, ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    from .scenario import GroupsConfig
from .arrays import expand_ranges, sorted_member
from .population import Population

__all__ = ["GroupNetwork", "build_groups", "load_kernels"]

MIN_SIZE = 3
JOIN_BASIS, JOIN_INVITED, JOIN_SPILL, JOIN_FILE, JOIN_EMBEDDED = 0, 1, 2, 3, 4
JOIN_KINDS = ("basis", "invited", "spill", "file", "embedded")
_COLUMNS = ("m_clinician", "m_group", "m_moderator", "m_joined", "m_via", "m_muted", "m_inviter")
BASIS_FILE = len(BASES)  # basis code of groups read from a membership file
BASIS_NAMES = (*BASES, "file")
#: a membership column's buffer holds this share of its rows more (room for days of invitations)
ROOM_SHARE = 32
#: rebuilds of the indexes whose changed groups are kept (``GroupNetwork.changed_since``)
CHANGE_LOG = 8


def load_kernels() -> None:
    """Compile (first use after an install) or load the kernels that keep the rows in order
    and the indexes up to date (:func:`.group_index.load_kernels`)."""
    from .group_index import load_kernels as load

    load()


@dataclass
class GroupNetwork:
    """Groups and their members. Rows are memberships; CSR indexes are derived."""

    n_clinicians: int
    m_clinician: np.ndarray  # int32, one row per membership
    m_group: np.ndarray  # int32
    m_moderator: np.ndarray  # bool
    m_joined: np.ndarray  # float32 day the membership started (<= 0 at set-up)
    m_via: np.ndarray  # int8 index into JOIN_KINDS
    m_muted: np.ndarray  # bool: member no longer reads the group (set by mute(), which logs the change)
    g_basis: np.ndarray  # int8 index into BASIS_NAMES
    g_created: np.ndarray  # float32 day the group was created
    size_cap: int = 500
    m_inviter: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # who invited (-1: none)

    def __post_init__(self):
        if self.m_inviter.size != self.m_clinician.size:
            self.m_inviter = np.full(self.m_clinician.size, -1, np.int32)
        self.version = 0  # counts rebuilds of the indexes
        self._touched: list[np.ndarray] = []  # groups whose rows changed since the last rebuild
        self._changed: dict[int, np.ndarray] = {}  # version -> the groups changed by its rebuild
        self._key_buf = np.zeros(0, np.int64)  # holds m_key (see _keys)
        self._n_keyed = 0  # the first rows whose keys the buffer holds, in order (see _keys)
        # clinician keys of the memberships added and removed since the indexes (group_index)
        self._added: list[np.ndarray] = []
        self._removed: list[np.ndarray] = []
        self._indexed = False
        self._entry_rows: dict = {"version": None}  # the clinician -> rows index of a day (group_index)
        self._room: dict[str, np.ndarray] = {}  # per membership column: the buffer it is the front of
        self.reindex()

    # ------------------------------------------------------------------ indexes
    def reindex(self, full: bool = False) -> None:
        """Bring both CSR indexes up to date after rows were added or removed: from the changes
        since the last (:func:`.group_index.update_index`), or from every row (the first time,
        with ``full``, or when the changes logged do not account for the rows held)."""
        # rows stay sorted by (group, clinician): rows removed keep the order, rows appended
        # are sorted apart and merged in (see ``merge_tail``); no sort of every row
        from .group_index import merge_tail, muted_counts, up_to_date

        start = self._n_keyed  # the rows keyed at the last rebuild, in order
        key = self._keys()
        merged = merge_tail(key, start)
        if merged is not None:  # the columns (and keys) are put in order where they are
            from .kernels import insert_in_place

            for name in _COLUMNS:
                insert_in_place(self._own(name, self.n_rows), *merged)
            insert_in_place(key, *merged)
        added, removed, self._added, self._removed = self._added, self._removed, [], []
        self.g_indptr, self.c_indptr, self.c_groups = up_to_date(self, added, removed, full)
        # muted rows per group and per clinician (``mute`` adds to the latter at once)
        self.g_muted, self.c_muted = muted_counts(self.g_indptr, self.m_muted, self.m_clinician, self.n_clinicians)
        self._indexed = True
        # rows are sorted by group, so group -> members is the clinician column itself
        self.g_members = self.m_clinician
        self.m_key = key  # sorted
        self.version += 1  # caches of the index compare this
        touched = np.concatenate(self._touched) if self._touched else np.zeros(0, np.int32)
        self._touched = []
        self._changed[self.version] = np.unique(touched)
        self._changed.pop(self.version - CHANGE_LOG, None)

    @property
    def c_rows(self) -> np.ndarray:
        """The membership row of each entry of ``c_groups`` (``np.argsort(m_clinician,
        kind="stable")`` as int32), made when asked (:func:`.group_index.entry_rows`)."""
        from .group_index import entry_rows

        return entry_rows(self, always=True)

    def changed_since(self, version: int) -> np.ndarray | None:
        """The groups whose rows (members, or a member's mute) changed since the indexes of
        ``version`` (ascending), or None when they are no longer known (versions older than
        the last :data:`CHANGE_LOG` rebuilds)."""
        if version == self.version:
            return np.zeros(0, np.int32)
        if not all(v in self._changed for v in range(version + 1, self.version + 1)):
            return None
        return np.unique(np.concatenate([self._changed[v] for v in range(version + 1, self.version + 1)]))

    def mute(self, rows: np.ndarray) -> None:
        """The members of the membership rows ``rows`` no longer read their groups (the muted
        rows per group are counted at the next ``reindex()``, per clinician at once)."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.unique(rows)
        np.add.at(self.c_muted, self.m_clinician[rows[~self.m_muted[rows]]], 1)
        self.m_muted[rows] = True
        self._touched.append(self.m_group[rows])

    def _keys(self) -> np.ndarray:
        """``group * n_clinicians + clinician`` of every row, in a kept buffer (a fresh array
        of this size costs more in page faults than the arithmetic): the keys of the rows
        appended since the last call are computed, the others' kept (``remove_rows``
        compacts them with the rows)."""
        n, done = self.n_rows, self._n_keyed
        buf = self._key_buf
        if buf.size < n:
            buf = np.empty(n + n // 8, np.int64)  # room for the rows to come
            buf[:done] = self._key_buf[:done]
            self._key_buf = buf
        key = buf[:n]
        np.multiply(self.m_group[done:], np.int64(self.n_clinicians), out=key[done:])
        np.add(key[done:], self.m_clinician[done:], out=key[done:])
        self._n_keyed = n
        return key

    def is_member(self, clinician: np.ndarray, group: np.ndarray) -> np.ndarray:
        return self._has_key(group.astype(np.int64) * self.n_clinicians + clinician)

    def _has_key(self, key: np.ndarray) -> np.ndarray:
        """Whether each (group * n + clinician) key is a membership (rows as last indexed)."""
        return sorted_member(key, self.m_key)

    def row_of(self, clinician: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Membership row of each (clinician, group) pair (which must be members)."""
        return np.searchsorted(self.m_key, group.astype(np.int64) * self.n_clinicians + clinician)

    @property
    def n_groups(self) -> int:
        return int(self.g_basis.size)

    @property
    def n_rows(self) -> int:
        return int(self.m_clinician.size)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.g_indptr)

    def groups_of(self, clinician: int) -> np.ndarray:
        return self.c_groups[self.c_indptr[clinician] : self.c_indptr[clinician + 1]]

    def members_of(self, group: int) -> np.ndarray:
        return self.g_members[self.g_indptr[group] : self.g_indptr[group + 1]]

    def groups_per_clinician(self) -> np.ndarray:
        return np.diff(self.c_indptr)

    # ------------------------------------------------------------------ changes
    def add_members(self, clinician: np.ndarray, group: np.ndarray, t: float, via: int) -> int:
        """Add memberships (duplicates and existing ones are ignored); returns how many.

        Call ``reindex()`` afterwards (once, after a batch of changes)."""
        if clinician.size == 0:
            return 0
        key_new = np.unique(group.astype(np.int64) * self.n_clinicians + clinician)
        key_new = key_new[~self._has_key(key_new)]
        k = key_new.size
        if k:
            self._append(
                (key_new % self.n_clinicians).astype(np.int32),
                (key_new // self.n_clinicians).astype(np.int32),
                np.zeros(k, bool),
                np.full(k, t, np.float32),
                np.full(k, via, np.int8),
            )
        return k

    def new_groups(self, basis: int, t: float, n: int) -> np.ndarray:
        ids = np.arange(self.n_groups, self.n_groups + n, dtype=np.int32)
        self.g_basis = np.concatenate([self.g_basis, np.full(n, basis, np.int8)])
        self.g_created = np.concatenate([self.g_created, np.full(n, t, np.float32)])
        return ids

    def remove_rows(self, rows: np.ndarray, reindex: bool = True) -> None:
        """Drop the membership rows ``rows``; the others keep their order. Until ``reindex()``
        the indexes are stale (``g_members``, the clinician column, changes with it)."""
        from .group_index import c_key
        from .kernels import compact_in_place

        n = self.n_rows  # (n_rows follows the first column, compacted first)
        self._touched.append(self.m_group[rows])
        gone = rows if np.asarray(rows).dtype == bool else np.unique(rows)  # each row once
        self._removed.append(c_key(self.m_clinician[gone], self.m_group[gone]))
        keep = np.ones(n, dtype=bool)
        keep[rows] = False
        for name in _COLUMNS:
            col = self._own(name, n)
            setattr(self, name, col[: compact_in_place(col, keep)])
        self._n_keyed = compact_in_place(self._key_buf[: self._n_keyed], keep[: self._n_keyed])  # keys follow
        self.m_key = self._key_buf[: self._n_keyed]  # the rows indexed that stay, still in order
        if reindex:
            self.reindex()

    def _append(self, clin, group, moderator, joined, via, inviter=None):
        from .group_index import c_key

        if inviter is None:
            inviter = np.full(clin.size, -1, np.int32)
        n, k = self.n_rows, clin.size
        self._touched.append(np.array(group, np.int32))
        self._added.append(c_key(clin, group))
        new = {
            "m_inviter": inviter,
            "m_clinician": clin,
            "m_group": group,
            "m_moderator": moderator,
            "m_joined": joined,
            "m_via": via,
            "m_muted": False,
        }
        for name in _COLUMNS:
            buf = self._own(name, n + k)
            buf[n : n + k] = new[name]
            setattr(self, name, buf[: n + k])

    def _own(self, name: str, need: int) -> np.ndarray:
        """The membership column ``name`` as the front of a buffer of this network's with room
        for ``need`` rows (the rows past its length are free); a column handed in, replaced
        or grown past its buffer is first copied into a new one, with 1/:data:`ROOM_SHARE` more
        room. Returns the buffer's first ``need`` rows (a view; ``need`` is at least the
        column's length)."""
        col = getattr(self, name)
        if need < col.size:
            raise ValueError(f"{name}: {need} rows asked of a column of {col.size}")
        buf = self._room.get(name)
        if buf is None or col.base is not buf or col.ctypes.data != buf.ctypes.data or buf.size < need:
            buf = np.empty(need + need // ROOM_SHARE, col.dtype)
            buf[: col.size] = col
            self._room[name] = buf
            setattr(self, name, buf[: col.size])
        return buf[:need]

    # ------------------------------------------------------------------- tables
    def memberships_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "clinician": self.m_clinician,
                "group": self.m_group,
                "moderator": self.m_moderator,
                "muted": self.m_muted,
                "joined_day": self.m_joined,
                "via": pd.Categorical.from_codes(self.m_via, JOIN_KINDS),
            }
        )

    def groups_frame(self, pop: Population) -> pd.DataFrame:
        tiers = pop.tier[self.m_clinician]
        regions = pop.region[self.m_clinician]
        n_tiers = _distinct_per_group(self.m_group, tiers, self.n_groups)
        n_regions = _distinct_per_group(self.m_group, regions, self.n_groups)
        return pd.DataFrame(
            {
                "group": np.arange(self.n_groups),
                "basis": pd.Categorical.from_codes(self.g_basis, BASIS_NAMES),
                "size": self.sizes,
                "moderators": np.bincount(self.m_group[self.m_moderator], minlength=self.n_groups),
                "created_day": self.g_created,
                "n_tiers": n_tiers,
                "n_regions": n_regions,
            }
        )

    def structure(self, pop: Population) -> dict[str, float]:
        """Summary of the network: sizes, groups per clinician, cross-tier and cross-city ties."""
        sizes = self.sizes
        live = sizes > 0
        per = self.groups_per_clinician()
        tiers = pop.tier[self.m_clinician].astype(np.int64)
        regions = pop.region[self.m_clinician].astype(np.int64)
        return {
            "n_groups": int(live.sum()),
            "n_memberships": self.n_rows,
            "group_size_mean": float(sizes[live].mean()) if live.any() else 0.0,
            "group_size_median": float(np.median(sizes[live])) if live.any() else 0.0,
            "group_size_p90": float(np.quantile(sizes[live], 0.9)) if live.any() else 0.0,
            "group_size_max": int(sizes.max()) if sizes.size else 0,
            "groups_per_clinician_mean": float(per.mean()),
            "groups_per_clinician_median": float(np.median(per)),
            "p_clinicians_in_no_group": float((per == 0).mean()),
            "p_memberships_cross_tier": _share_cross(self.m_group, tiers, self.n_groups, 3),
            "p_memberships_cross_region": _share_cross(self.m_group, regions, self.n_groups, len(pop.region_names)),
        }


def _distinct_per_group(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    pairs = np.unique(group.astype(np.int64) * (int(value.max(initial=0)) + 1) + value)
    return np.bincount(pairs // (int(value.max(initial=0)) + 1), minlength=n_groups)


def _share_cross(group: np.ndarray, value: np.ndarray, n_groups: int, n_values: int) -> float:
    """Share of memberships whose group has a member with another value (tier, region)."""
    if group.size == 0:
        return 0.0
    key = group.astype(np.int64) * n_values + value
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    size = np.bincount(group, minlength=n_groups)[group]
    return float((size - counts[inverse] > 0).mean())


# ----------------------------------------------------------------------- build
def _keyed_groups(
    members: np.ndarray, keys: np.ndarray, median: float, sigma: float, cap: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """Split the clinicians of each key into groups of a size drawn per key.

    Returns (clinician, local group id, number of groups). Keys with fewer than 3
    members form no group; a last chunk of fewer than 3 joins the chunk before it
    when that stays within the cap, else those members stay out.
    """
    if members.size == 0:
        return members.astype(np.int32), members.astype(np.int32), 0
    order = np.lexsort((rng.random(members.size), keys))
    members, keys = members[order], keys[order]
    uniq, start, count = np.unique(keys, return_index=True, return_counts=True)
    target = np.clip(np.rint(rng.lognormal(np.log(median), sigma, uniq.size)), MIN_SIZE, cap).astype(np.int64)
    block = np.repeat(np.arange(uniq.size), count)
    pos = np.arange(members.size) - start[block]
    n_chunks = -(-count // target)
    last = count - (n_chunks - 1) * target
    merge = (last < MIN_SIZE) & (n_chunks > 1) & (target + last <= cap)
    n_eff = n_chunks - merge
    chunk = np.minimum(pos // target[block], n_eff[block] - 1)
    # chunk sizes; drop chunks under the minimum (small keys, unmergeable tails)
    offset = np.concatenate([[0], np.cumsum(n_eff)[:-1]])
    gid = offset[block] + chunk
    sizes = np.bincount(gid, minlength=int(n_eff.sum()))
    ok = sizes[gid] >= MIN_SIZE
    members, gid = members[ok], gid[ok]
    kept, local = np.unique(gid, return_inverse=True)
    return members.astype(np.int32), local.astype(np.int32), int(kept.size)


def _basis_keys(basis: str, pop: Population, cfg: GroupsConfig, rng: np.random.Generator):
    """Eligible clinicians and their grouping key for one basis."""
    n = pop.n
    idx = np.arange(n, dtype=np.int64)
    region = pop.region.astype(np.int64)
    n_spec = 16
    abroad = pop.fac_abroad[pop.facility]
    if basis == "alumni":
        return idx, pop.school.astype(np.int64) * 100 + pop.years // cfg.cohort_years
    if basis == "cohort":
        return idx, pop.internship.astype(np.int64) * 100 + pop.years // 3
    if basis == "specialty":
        return idx, pop.specialty.astype(np.int64) * (region.max() + 1) + region
    if basis == "affiliate":
        home = ~abroad
        return idx[home], pop.ancestor(2)[pop.facility][home].astype(np.int64)
    if basis == "surveillance":
        home = ~abroad
        return idx[home], region[home]
    if basis == "conference":
        n_conf = max(1, cfg.n_conferences)
        return idx, pop.specialty.astype(np.int64) * n_conf + rng.integers(0, n_conf, n)
    if basis == "reading":
        return idx, pop.specialty.astype(np.int64) * (region.max() + 1) + region
    if basis == "abroad":
        linked = abroad | pop.international
        return idx[linked], pop.school[linked].astype(np.int64) * n_spec
    raise ValueError(basis)


def build_groups(pop: Population, cfg: GroupsConfig, rng: np.random.Generator) -> GroupNetwork:
    if cfg.membership_file:
        return _groups_from_file(pop, cfg)
    clin_parts, group_parts, basis_parts = [], [], []
    n_groups = 0
    for b, basis in enumerate(BASES):
        bc = cfg.bases.get(basis)
        if bc is None or not bc.enabled or bc.join_prob == 0:
            continue
        members, keys = _basis_keys(basis, pop, cfg, rng)
        if bc.roles is not None:
            ok = np.isin(pop.role[members], [ROLES.index(r) for r in bc.roles])
            members, keys = members[ok], keys[ok]
        joined = rng.random(members.size) < bc.join_prob
        clin, local, k = _keyed_groups(members[joined], keys[joined], bc.size_median, bc.size_sigma, cfg.size_cap, rng)
        clin_parts.append(clin)
        group_parts.append(local + n_groups)
        basis_parts.append(np.full(k, b, np.int8))
        n_groups += k
    clin = np.concatenate(clin_parts) if clin_parts else np.zeros(0, np.int32)
    group = np.concatenate(group_parts) if group_parts else np.zeros(0, np.int32)
    net = GroupNetwork(
        n_clinicians=pop.n,
        m_clinician=clin,
        m_group=group,
        m_moderator=np.zeros(clin.size, bool),
        m_joined=np.zeros(clin.size, np.float32),
        m_via=np.full(clin.size, JOIN_BASIS, np.int8),
        m_muted=np.zeros(clin.size, bool),
        g_basis=np.concatenate(basis_parts) if basis_parts else np.zeros(0, np.int8),
        g_created=np.zeros(n_groups, np.float32),
        size_cap=cfg.size_cap,
    )
    invite(net, pop, cfg.invite_per_member, 0.0, rng)
    assign_moderators(net, pop, cfg.moderators_max, rng)
    return net


def form_groups(
    net: GroupNetwork,
    pop: Population,
    members: np.ndarray,
    keys: np.ndarray,
    basis: str,
    t: float,
    size_median: float,
    size_sigma: float,
    via: int,
    max_mods: int,
    rng: np.random.Generator,
) -> int:
    """New groups of ``basis`` during a run from clinicians grouped by key; returns members added."""
    clin, local, k = _keyed_groups(members, keys, size_median, size_sigma, net.size_cap, rng)
    if k == 0:
        return 0
    ids = net.new_groups(BASES.index(basis), t, k)
    added = net.add_members(clin, ids[local], t, via)
    net.reindex()
    assign_moderators(net, pop, max_mods, rng, groups=ids)
    return added


def invite(
    net: GroupNetwork,
    pop: Population,
    per_member: float,
    t: float,
    rng: np.random.Generator,
    groups: np.ndarray | None = None,
    reindex: bool = True,
) -> int:
    """Members invite colleagues from their own facility; full groups spill over.

    Each group receives Poisson(per_member x size) invitations; each goes to a random
    colleague of a random member. Invitees beyond the size cap go to one new spill
    group per full group (kept if it reaches 3 members). Returns memberships added.
    """
    sizes = net.sizes
    if groups is None:
        groups = np.flatnonzero(sizes > 0)
    if per_member <= 0 or groups.size == 0:
        return 0
    n_inv = rng.poisson(per_member * sizes[groups])
    g = np.repeat(groups, n_inv)
    if g.size == 0:
        return 0
    inviter = net.g_members[net.g_indptr[g] + (rng.random(g.size) * sizes[g]).astype(np.int64)]
    f_indptr, f_staff = pop.facility_staff()
    fac = pop.facility[inviter]
    fsize = f_indptr[fac + 1] - f_indptr[fac]
    invitee = f_staff[f_indptr[fac] + (rng.random(g.size) * fsize).astype(np.int64)]
    # drop self-invitations and clinicians already in the group
    key = g.astype(np.int64) * net.n_clinicians + invitee
    other = invitee != inviter
    key, first = np.unique(key[other], return_index=True)
    inviter = inviter[other][first]  # the first invitation of each (group, invitee) counts
    new = ~net._has_key(key)
    key, inviter = key[new], inviter[new]
    g, invitee = (key // net.n_clinicians).astype(np.int32), (key % net.n_clinicians).astype(np.int32)
    # spill: rank of each newcomer within its group, against the room left
    first = np.searchsorted(g, g, side="left")
    rank = np.arange(g.size) - first
    room = net.size_cap - sizes[g]
    over = rank >= room
    # newcomers past the cap fill new groups of at most size_cap (kept from 3 members)
    chunk = (rank[over] - room[over]) // net.size_cap
    spill_key, spill_of, spill_size = np.unique(
        g[over].astype(np.int64) * (g.size + 1) + chunk, return_inverse=True, return_counts=True
    )
    spill_ok = spill_size >= MIN_SIZE
    new_ids = net.new_groups(0, t, int(spill_ok.sum()))
    net.g_basis[new_ids] = net.g_basis[(spill_key[spill_ok] // (g.size + 1)).astype(np.int64)]
    target = np.full(spill_key.size, -1, np.int32)
    target[spill_ok] = new_ids
    g_spill = target[spill_of]
    clin = np.concatenate([invitee[~over], invitee[over][g_spill >= 0]])
    grp = np.concatenate([g[~over], g_spill[g_spill >= 0]])
    via = np.concatenate(
        [np.full((~over).sum(), JOIN_INVITED, np.int8), np.full(int((g_spill >= 0).sum()), JOIN_SPILL, np.int8)]
    )
    by = np.concatenate([inviter[~over], inviter[over][g_spill >= 0]])
    net._append(clin, grp, np.zeros(clin.size, bool), np.full(clin.size, t, np.float32), via, by)
    if not reindex:
        return int(clin.size)
    net.reindex()
    if new_ids.size:
        assign_moderators(net, pop, 1, rng, groups=new_ids)
    return int(clin.size)


def _rows_of_groups(net: GroupNetwork, groups: np.ndarray) -> np.ndarray:
    """The membership rows of ``groups`` (any order, repeats allowed), ascending, as
    ``np.flatnonzero(np.isin(net.m_group, groups))``: from the group index (which must be
    current: rows sorted by group), not a pass over every row."""
    g = np.unique(groups)
    return expand_ranges(net.g_indptr[g], net.g_indptr[g + 1] - net.g_indptr[g])


def assign_moderators(
    net: GroupNetwork, pop: Population, max_mods: int, rng: np.random.Generator, groups: np.ndarray | None = None
) -> None:
    """The most senior and expert members moderate: 1 per group, 2 from 50 members, ...
    (of ``groups`` only, when given: the indexes must be current)."""
    rows = np.arange(net.n_rows) if groups is None else _rows_of_groups(net, groups)
    if rows.size == 0:
        return
    clin = net.m_clinician[rows]
    score = pop.years[clin] / 50.0 + pop.expertise[clin] + 0.3 * rng.random(rows.size)
    grp = net.m_group[rows]
    order = np.lexsort((-score, grp))
    rows, grp = rows[order], grp[order]
    first = np.searchsorted(grp, grp, side="left")
    rank = np.arange(rows.size) - first
    n_mods = np.clip(1 + net.sizes[grp] // 50, 1, max_mods)
    net.m_moderator[rows] = rank < n_mods


def _groups_from_file(pop: Population, cfg: GroupsConfig) -> GroupNetwork:
    path = cfg.membership_file
    try:
        df = pd.read_parquet(path, columns=["clinician", "group"])
    except (OSError, ValueError, KeyError) as exc:
        raise ScenarioError(f"groups.membership_file: cannot read {path!r}: {exc}") from None
    clin = df["clinician"].to_numpy(np.int64)
    grp = df["group"].to_numpy(np.int64)
    if clin.size and (clin.min() < 0 or clin.max() >= pop.n):
        raise ScenarioError(
            f"groups.membership_file: clinician ids must lie in 0..{pop.n - 1} "
            f"(population.n_clinicians = {pop.n}); found {clin.min()}..{clin.max()}"
        )
    uniq, grp = np.unique(grp, return_inverse=True)
    sizes = np.bincount(grp, minlength=uniq.size)
    if sizes.size and (sizes.min() < MIN_SIZE or sizes.max() > cfg.size_cap):
        raise ScenarioError(
            f"groups.membership_file: group sizes must lie in {MIN_SIZE}..{cfg.size_cap}; "
            f"found {sizes.min()}..{sizes.max()}"
        )
    n = clin.size
    net = GroupNetwork(
        n_clinicians=pop.n,
        m_clinician=clin.astype(np.int32),
        m_group=grp.astype(np.int32),
        m_moderator=np.zeros(n, bool),
        m_joined=np.zeros(n, np.float32),
        m_via=np.full(n, JOIN_FILE, np.int8),
        m_muted=np.zeros(n, bool),
        g_basis=np.full(uniq.size, BASIS_FILE, np.int8),
        g_created=np.zeros(uniq.size, np.float32),
        size_cap=cfg.size_cap,
    )
    net.m_moderator[net.g_indptr[:-1][sizes > 0]] = True  # first listed member moderates
    return net
