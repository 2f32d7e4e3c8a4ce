"""Read-side indexes for the live dashboard at 150,000 pods (web/selectors.py).

Each is partial on ``deleted_at IS NULL``: the dashboard's default view is live pods only,
and deleted rows (kept for their history) would otherwise grow these indexes without end.

* ``web_pod_live_status`` (status): the STATUS counts, one GROUP BY answered by an index-only
  scan; the STATUS filter; the problems panel's ``status IN (...)``.
* ``web_pod_live_namespace`` (namespace, status): the namespace filter across clusters (the
  ingest index leads with the cluster) and its STATUS counts, index-only.
* ``web_pod_live_restarts`` (restarts DESC, id DESC): keyset pages sorted by restarts.
* ``web_pod_live_age`` (COALESCE(created_at, first_observed_at) DESC, id DESC): keyset pages
  sorted by age.
* ``web_pod_search`` trigram GIN on name/namespace/node: the free-text filter (``%q%``
  cannot use a btree). pg_trgm is a trusted extension: a database owner may create it.

The NAME order uses ingest's (cluster, namespace, name) index.
"""

from __future__ import annotations

from django.db import migrations

SEARCH = "(name || ' ' || namespace || ' ' || node_name)"


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0003_transition_instant_index"),
        ("ingest", "0003_pod_recent_resource_versions"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS web_pod_live_status ON ingest_pod (status)"
            " WHERE deleted_at IS NULL",
            "DROP INDEX IF EXISTS web_pod_live_status",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS web_pod_live_namespace ON ingest_pod (namespace, status)"
            " WHERE deleted_at IS NULL",
            "DROP INDEX IF EXISTS web_pod_live_namespace",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS web_pod_live_restarts"
            " ON ingest_pod (restarts DESC, id DESC) WHERE deleted_at IS NULL",
            "DROP INDEX IF EXISTS web_pod_live_restarts",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS web_pod_live_age ON ingest_pod"
            " ((COALESCE(created_at, first_observed_at)) DESC, id DESC) WHERE deleted_at IS NULL",
            "DROP INDEX IF EXISTS web_pod_live_age",
        ),
        # Left in place on the way back: other code may use the extension.
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS web_pod_search ON ingest_pod USING gin ({SEARCH} gin_trgm_ops)",
            "DROP INDEX IF EXISTS web_pod_search",
        ),
    ]
