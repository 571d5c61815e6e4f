"""Provider adapters: plain data in, plain results out; they never touch the ORM."""
