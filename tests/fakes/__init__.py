"""Local fake provider servers (OpenAI-compatible, Replicate-style jobs) for protocol tests.

See :mod:`tests.fakes.server` for the shared base and scripting behaviours,
:mod:`tests.fakes.openai`, :mod:`tests.fakes.jobs` for the protocols and
:mod:`tests.fakes.fixtures` for the pytest fixtures.
"""
