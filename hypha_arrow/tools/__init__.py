"""Tools around the library, not part of it: the demo, a local Hypha server, hypha-rpc's own
codec path for comparisons, and the ``hypha-arrow`` command line."""
