"""Helpers shared by more than one test module; test modules import from here, never from each other."""
