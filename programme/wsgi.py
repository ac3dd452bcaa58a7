"""The WSGI application for a production server: ``gunicorn programme.wsgi:app``.

Configured like every other entry point (``programme/config.py``): the defaults, the instance folder's
``config.py`` (``PROGRAMME_INSTANCE_PATH``), then the environment (``DATABASE_URL``, ``SECRET_KEY``,
``PROGRAMME_MODE``, ``RATELIMIT_STORAGE_URI``, ...).
"""

from programme import create_app

app = create_app()
