"""The browser tests' studio (its server, Celery worker and command process): the product's settings with a fast
password hasher, as the rest of the suite has (tests/conftest.py). PBKDF2's million rounds cost about 0.4 CPU-s for
each user the tests make and for each log-in through the form: 15 CPU-s of every run, out of about 120."""

from studio.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
