def pytest_configure(config):
    config.addinivalue_line("markers", "bench: quick smoke run of a bench/ script (runs in CI, not a measurement)")
