"""SQS: task queues (one per task type, created on first use), the decider FIFO queue and the timer queue."""
