"""The durable scheduler: plan -> dispatch -> poll -> persist."""
