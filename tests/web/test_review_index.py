"""The review's read of a window's rows matches the covering index built for it."""

from __future__ import annotations

import importlib

from lifecycle_dash.web.selectors_review import REVIEW_ROWS_PREDICATE


def test_the_review_repeats_the_covering_index_predicate_word_for_word() -> None:
    # The planner uses a partial index only when it can prove the query implies the predicate.
    migration = importlib.import_module("lifecycle_dash.web.migrations.0005_transition_review_rows")
    assert migration.PREDICATE == REVIEW_ROWS_PREDICATE
