from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "shebao.core"
    label = "core"
    verbose_name = "核心"

    def ready(self):
        from shebao.core import checks  # noqa: F401 (registers the key-ring checks)
