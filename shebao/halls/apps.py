from django.apps import AppConfig


class HallsConfig(AppConfig):
    name = "shebao.halls"
    verbose_name = "大厅首页"
