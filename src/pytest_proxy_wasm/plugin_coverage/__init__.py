"""Plugin source coverage: counters in an instrumented copy of the module, mapped back to the
plugin's source (DWARF lines, or functions through the name section), written as LCOV and Cobertura."""
