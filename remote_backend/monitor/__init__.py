"""Health of `serve` (circuit breaker, health states) and its Prometheus metrics."""
