"""Development tools: the demo world, the mail catcher, the local Elasticsearch node.

The service never imports this package (an import-linter contract keeps it so); the
``yuqing`` command reaches it only from its demo and test-support commands.
"""
