from .plugin import WorkflowPlugin as WorkflowPlugin
