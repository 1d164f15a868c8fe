import importlib.util

# The remote plugin class, for pynvim's host. Without pynvim (the command-line
# validator in CI, say) the rest of the package still imports.
if importlib.util.find_spec("pynvim") is not None:
    from .plugin import WorkflowPlugin as WorkflowPlugin
