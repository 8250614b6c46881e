"""URL patterns included into a hall namespace by config/urls.py."""

urlpatterns = []
