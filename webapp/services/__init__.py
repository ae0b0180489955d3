"""Business operations shared by the JSON API, the pages and the CLI. They validate input,
own the transaction and, once it is committed, touch the job queue."""
