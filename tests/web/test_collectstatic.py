"""The production static pipeline (WhiteNoise's compressed manifest storage) collects every
asset from a clean directory: a vendored file that names a missing source map or image would
stop `collectstatic` at deployment."""

from django.core.management import call_command
from django.test import override_settings

PRODUCTION_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_production_collectstatic_from_a_clean_directory(tmp_path):
    root = tmp_path / "static"
    with override_settings(STATIC_ROOT=root, STORAGES=PRODUCTION_STATIC):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (root / "staticfiles.json").read_text()
    assert "vendor/bootstrap.min.css" in manifest
    assert "ninja/swagger-ui-bundle.js" in manifest
