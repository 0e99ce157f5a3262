"""Pure rules and data shapes: no framework, driver or client imports."""
