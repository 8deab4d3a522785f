"""NEMEA modules: one process each, built on the libtrap_py module runtime."""
