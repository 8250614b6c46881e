from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "shebao.demo"
    verbose_name = "演示数据与开发控制台"
