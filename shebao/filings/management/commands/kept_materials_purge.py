"""Drop the materials kept across failed saves that are older than a day (run daily beside
clearsessions; every new kept material also purges the old ones)."""

from django.core.management.base import BaseCommand

from shebao.filings.kept import kept_purge


class Command(BaseCommand):
    help = "Delete kept uploads (materials of forms that failed to save) older than a day."

    def handle(self, *args, **options):
        self.stdout.write(f"kept materials purged: {kept_purge()}")
