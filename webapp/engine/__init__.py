"""The engine: schedules become deliveries, deliveries become jobs, jobs publish.

Nothing here imports `services`, `web` or a feature: the request side calls down into the
engine, never the other way round."""
