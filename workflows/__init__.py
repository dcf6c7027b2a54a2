"""Hera workflow definitions (detect) and the engines that run them: local and Argo."""
