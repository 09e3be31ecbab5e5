"""The real-Envoy backend: bootstrap rendering, the process runner, fakes and log parsing."""
