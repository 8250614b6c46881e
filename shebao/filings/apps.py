from django.apps import AppConfig


class FilingsConfig(AppConfig):
    name = "shebao.filings"
    label = "filings"
    verbose_name = "申报业务"

    def ready(self):
        from shebao.core.audit import register_kind_labels
        from shebao.filings.models import FilingKind

        register_kind_labels(dict(FilingKind.choices))
