"""Publishing: turning objects into SQS messages, efficiently and without losing any."""
