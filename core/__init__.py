"""genpipe's shared core: the error envelope, logging and redaction, input checks, outage
reporting, throttles, schema helpers, health checks and database options.

It imports no app of the project; every app may import it.
"""
