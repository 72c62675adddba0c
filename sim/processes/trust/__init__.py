"""Pairwise trust between clinicians: how two people met, answers, meetings, vouching."""
