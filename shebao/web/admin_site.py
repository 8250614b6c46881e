"""The Django admin's site: Django's own, with its sign-in (/django-admin/login/, an anonymous
endpoint) rate limited per client IP and per account name like the halls' sign-in. Installed as
the default admin site by shebao.web.admin_config.AdminConfig (INSTALLED_APPS), so
``admin.site`` and ``@admin.register`` keep working unchanged; the read-only model admins are
unaffected."""

from django.contrib import admin
from django.utils.decorators import method_decorator

from shebao.web.ratelimits import limit, post_fields


class LimitedAdminSite(admin.AdminSite):
    @method_decorator(limit("admin_login_ip"))
    @method_decorator(limit("admin_login_account", key=post_fields("username")))
    def login(self, request, extra_context=None):
        return super().login(request, extra_context)
