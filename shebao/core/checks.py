"""System checks of the core: the key rings of ``shebao.core.crypto`` (every key 32 bytes of
base64, the current key in its ring), so a bad setting fails ``manage.py check`` and start-up
(``runserver``, ``migrate``) instead of the first request that encrypts."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from shebao.core import crypto


@checks.register(checks.Tags.security)
def check_key_rings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for code, ring in (("shebao.E001", crypto.field_keys), ("shebao.E002", crypto.lookup_keys)):
        try:
            ring()
        except ImproperlyConfigured as e:
            errors.append(checks.Error(str(e), id=code))
    return errors
