from hypothesis import HealthCheck, settings

pytest_plugins = ["cis_runtime.testing"]

# Property tests judge what is generated, not how fast: on a loaded 2-core CI machine the timing checks
# (a deadline per example, "input generation is slow") fail tests that are right.
settings.register_profile("cis", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cis")
