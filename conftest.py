pytest_plugins = ["cis_runtime.testing"]
