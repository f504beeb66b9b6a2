"""The example service: ghostart's HTTP API, its worker, and a small web page, in one process."""
