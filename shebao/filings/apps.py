from django.apps import AppConfig


class FilingsConfig(AppConfig):
    name = "shebao.filings"
    label = "filings"
    verbose_name = "申报业务"
