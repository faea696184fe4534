"""CDK constructs and stacks for the cloud runtime. Infrastructure only: no business logic."""
