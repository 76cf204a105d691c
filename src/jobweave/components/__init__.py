"""What a job runs, one module per kind: python, shell, sleep."""
