"""Recompute the roster read model (RosterEntry) from the enrolments and persons.

The services keep it up to date in their own transactions; this repairs it after data was
written around them (an import straight into the tables, a restored backup) and is what a
fresh database needs. Idempotent: a second run gives the same rows."""

from django.core.management.base import BaseCommand
from django.db import transaction

from shebao.registry.roster import roster_rebuild


class Command(BaseCommand):
    help = "Recompute the roster (参保职工名单) read model from the enrolments and persons."

    def handle(self, *args, **options):
        with transaction.atomic():
            count = roster_rebuild()
        self.stdout.write(f"roster rebuilt: {count} entries")
