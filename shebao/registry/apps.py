from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "shebao.registry"
    label = "registry"
    verbose_name = "登记"
