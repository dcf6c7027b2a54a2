"""The local engine (`engine.LocalEngine`) and its parts: walker, scripts, worker, node writer."""
