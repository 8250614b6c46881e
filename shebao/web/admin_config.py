"""django.contrib.admin's app config with our site (shebao.web.admin_site.LimitedAdminSite) as
the default ``admin.site``; named in INSTALLED_APPS instead of "django.contrib.admin". A module
of its own: it is imported while the apps load, before any model may be."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "shebao.web.admin_site.LimitedAdminSite"
