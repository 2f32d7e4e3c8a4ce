"""Leave room in ingest_pod pages so the constant upserts can be HOT updates.

Every watch event rewrites a pod row; with full pages each update moves the row to another
page and touches every index. 70 % fill keeps most updates on the same page.
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ingest", "0003_pod_recent_resource_versions")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE ingest_pod SET (fillfactor = 70)",
            "ALTER TABLE ingest_pod RESET (fillfactor)",
        )
    ]
