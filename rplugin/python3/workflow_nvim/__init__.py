"""workflow.nvim's Python side: the rules of workflows, runs and their git history.

Importing the package imports nothing else: ``python -m workflow_nvim serve``
(server.py) is what an editor starts, and it loads the rest as a command needs it.
"""
