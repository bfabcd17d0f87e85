"""One module per input: what a consumed batch writes to the read models (one statement
per table per batch), and the monthly job that publishes the calls."""
