"""genpipe settings, read from the environment.

Nothing set gives the embedded default: a SQLite file, a database-backed Django cache and a
Celery broker on kombu's filesystem transport, all under ``GENPIPE_VAR_DIR`` (``./var``).
``DATABASE_URL``, ``REDIS_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL, django-redis
and a Redis/RabbitMQ broker. ``GENPIPE_ENV=production`` turns on the deploy hardening and
refuses to start without ``DJANGO_SECRET_KEY``.

Each module of this package holds one part (``environment``, ``framework``, ``storage``,
``worker``, ``product``, ``api``, ``web``) and imports by name what it reads of another;
no setting is defined twice, so the order of the imports below does not matter.
"""

from .api import *  # noqa: F403
from .environment import *  # noqa: F403
from .framework import *  # noqa: F403
from .product import *  # noqa: F403
from .storage import *  # noqa: F403
from .web import *  # noqa: F403
from .worker import *  # noqa: F403
