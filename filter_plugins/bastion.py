# -*- coding: utf-8 -*-
"""Filters of the bastion role (pure functions; tests/unit/test_bastion_filters.py)."""

from __future__ import annotations


def bastion_strong_moduli(text, min_bits):
    """/etc/ssh/moduli without the groups smaller than `min_bits` (column 5, the size minus one)."""
    kept = []
    for line in str(text).splitlines():
        fields = line.split()
        if line.startswith("#") or len(fields) < 7 or not fields[4].isdigit() or int(fields[4]) >= int(min_bits):
            kept.append(line)
    return "\n".join(kept) + "\n"


class FilterModule:
    def filters(self):
        return {"bastion_strong_moduli": bastion_strong_moduli}
