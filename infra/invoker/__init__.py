"""The local invoker: serves template.yaml's routes over HTTP and delivers bucket events."""
